#!/bin/bash
# Pull benchmark: `ecsa-run pull` of a ~100 MB five-layer image from Debian's docker-registry
# on 127.0.0.1, against `skopeo copy docker://... oci:DIR` followed by `umoci unpack` (what
# one would do without ecsa), each into a cold store every round, interleaved rounds,
# medians: wall time, peak RSS, bytes written to disk. Writes Markdown to $BENCH_RESULTS.
#
# Usage: bench/pull.sh BUILD      (needs root, docker-registry, skopeo, umoci, python3)
# Env:   BENCH_PULL_RUNS (7), BENCH_PULL_WARMUP (1), BENCH_RESULTS (bench/RESULTS-pull.md),
#        BENCH_PULL_PARALLEL (ecsa-run pull --parallel; default: ecsa's default)
#
# The image is generated from this machine's /usr by bench/make-pull-image.py into
# BUILD/bench/pull-image (kept between runs, rebuilt when the script changes). Stores and
# bundles are made on a fresh ext4 loop-mounted below BUILD/bench/pull-work.* (on the disk:
# write_bytes is not counted on tmpfs), removed with the registry on exit.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bench/pull.sh BUILD" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
runs=${BENCH_PULL_RUNS:-7}
warmup=${BENCH_PULL_WARMUP:-1}
results=${BENCH_RESULTS:-$src/bench/RESULTS-pull.md}
ecsa=$build/ecsa-run
command_line="BENCH_PULL_RUNS=$runs BENCH_PULL_WARMUP=$warmup${BENCH_PULL_PARALLEL:+ BENCH_PULL_PARALLEL=$BENCH_PULL_PARALLEL} bench/pull.sh $1"

if [ "$(id -u)" != 0 ]; then
  echo "bench: needs root (layers keep owners and device-node whiteouts)" >&2
  exit 1
fi
for tool in docker-registry skopeo umoci python3 mkfs.ext4 losetup; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench: $tool is not installed (apt-get install docker-registry skopeo umoci)" >&2
    exit 1
  fi
done
if [ ! -x "$ecsa" ]; then
  echo "bench: no $ecsa: run 'make BUILD=$1'" >&2
  exit 1
fi

mkdir -p "$build/bench"
image=$build/bench/pull-image
image_one=$build/bench/pull-image-one
if [ ! -f "$image/sizes.json" ] || [ "$src/bench/make-pull-image.py" -nt "$image/sizes.json" ]; then
  echo "pull bench: generating the image into $image" >&2
  "$src/bench/make-pull-image.py" "$image"
fi
if [ ! -f "$image_one/sizes.json" ] || [ "$src/bench/make-pull-image.py" -nt "$image_one/sizes.json" ]; then
  echo "pull bench: generating the one-layer image into $image_one" >&2
  "$src/bench/make-pull-image.py" --single "$image_one"
fi

work=$(mktemp -d "$build/bench/pull-work.XXXXXX")
source "$src/rootfs-fixtures/images/registry.sh"
loopdev=
cleanup() {
  stop_registry
  if mountpoint -q "$work/fs"; then umount "$work/fs"; fi
  if [ -n "$loopdev" ]; then losetup -d "$loopdev"; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Stores and bundles go to a fresh journaled ext4 (as on an SD card) on a loop device with
# direct I/O, so syncs reach the disk: the same clean file system for every case, and no
# interference from what other work on the machine creates and deletes (ext4 without a
# journal, as this VM's root, scans recently deleted inodes on every create).
truncate -s 3G "$work/fs.img"
mkfs.ext4 -q -F "$work/fs.img"
loopdev=$(losetup --direct-io=on -f --show "$work/fs.img")
mkdir "$work/fs"
mount "$loopdev" "$work/fs"
stores=$work/fs

start_registry "$work/registry"
port=$REGISTRY_PORT
host=127.0.0.1:$port
ref=$host/bench/pull:latest
ref_one=$host/bench/pull-one:latest
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$image:latest" "docker://$ref"
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$image_one:latest" "docker://$ref_one"

# One untimed pull each: both must work before anything is timed.
ECSA_STATE_DIR=$stores/check-ecsa ECSA_REGISTRIES_CONF=$work/none.json \
  "$ecsa" pull --progress none "$ref" >/dev/null
skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$ref" "oci:$stores/check-oci:latest"
umoci unpack --image "$stores/check-oci:latest" "$stores/check-bundle" >/dev/null
rm -rf "$stores/check-ecsa" "$stores/check-oci" "$stores/check-bundle"

parallel_json=
if [ -n "${BENCH_PULL_PARALLEL:-}" ]; then parallel_json=", \"--parallel\", \"$BENCH_PULL_PARALLEL\""; fi
cat >"$work/config.json" <<EOF
{
  "runs": $runs, "warmup": $warmup, "work": "$stores",
  "env": {"ECSA_REGISTRIES_CONF": "$work/none.json"},
  "cases": {
    "ecsa": [["env", "ECSA_STATE_DIR={out}/store", "$ecsa", "pull", "--progress", "none"$parallel_json, "$ref"]],
    "ecsa, one-layer image": [["env", "ECSA_STATE_DIR={out}/store", "$ecsa", "pull", "--progress", "none"$parallel_json, "$ref_one"]],
    "skopeo+umoci": [
      ["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false", "docker://$ref", "oci:{out}/oci:latest"],
      ["umoci", "unpack", "--image", "{out}/oci:latest", "{out}/bundle"]
    ]
  },
  "ecsa_label": "ecsa", "peer_label": "skopeo+umoci", "rss_labels": ["ecsa", "ecsa, one-layer image"],
  "image": "\`$ref\`", "image_one": "\`$ref_one\`",
  "sizes": $(cat "$image/sizes.json"),
  "sizes_one": $(cat "$image_one/sizes.json"),
  "command": "$command_line",
  "machine": "$(nproc) cores, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -m), stores on a fresh 3 GiB ext4 (journaled) on a loop device with direct I/O, backed by a file on the VM's disk",
  "load_before": "$(cut -d' ' -f1-3 /proc/loadavg)",
  "raw": "${1%/}/bench/pull-raw.tsv",
  "notes": [
    "Why a loop device: this VM's root file system is ext4 without a journal, where every file creation scans the inodes deleted in the last ~30 s (ext4's recently_deleted check, about two thirds of the CPU time in a perf profile), so on it whatever deleted files just before (the previous round, other work on the machine) dominates both cases: one such pull took ecsa 13 s wall (3.3 s CPU) and umoci's unpack alone 15 s (4.4 s CPU). A fresh journaled ext4, as on an SD card, measures the pulls themselves.",
    "ecsa extracts every layer while it downloads (one pass, no compressed copy) and syncs each layer before renaming it into place; skopeo writes the compressed blobs, umoci reads them back and extracts them, and neither syncs (see the sync-after column)."
  ],
  "versions": [
    "ecsa: $("$ecsa" --version 2>&1 | head -1)",
    "skopeo: $(skopeo --version)",
    "umoci: $(umoci --version)",
    "docker-registry: $(docker-registry --version 2>&1 | head -1)"
  ]
}
EOF
python3 "$src/bench/pull-rounds.py" rounds "$work/config.json" "$build/bench/pull-raw.tsv"
python3 "$src/bench/pull-rounds.py" report "$work/config.json" "$build/bench/pull-raw.tsv" "$results"
echo "pull bench: results in $results" >&2
