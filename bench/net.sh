#!/bin/bash
# Benchmarks bridge networking with one dynamic port mapping: ecsa against podman, in
# interleaved rounds of the same run.
#
#   ecsa, in process   `ecsa-run net bench -p 0:80 N`: setup_network (returns with the
#                      container reachable: veth, addresses, route, DNAT map elements in
#                      place), the namespace's process killed (untimed: the container's
#                      stop), teardown_network (returns with the address and port free and
#                      the elements gone); what the runtime's start and stop paths pay.
#   ecsa, CLI          `ecsa-run net setup` then `ecsa-run net teardown` as two processes
#                      (process start and exit included), around an `unshare -n sleep`.
#   ecsa, run          `ecsa-run run --rm IMAGE true` with `--network none` and with
#                      `-p 0:80` (bridge): the difference is what networking adds to a
#                      container's whole life, measured as podman's is (image from a
#                      registry on 127.0.0.1, pulled before timing).
#   podman             `podman run --rm IMAGE true` with `--network none`, and on a bridge
#                      network with `-p 127.0.0.1::80` (it refuses -p 0:80): the difference
#                      is podman's bridge + port mapping setup and teardown (netavark).
#
# Usage: bench/net.sh BUILD      (needs root, podman, netavark, docker-registry, skopeo and
#                                `make BUILD=... fixtures`)
# Env:   BENCH_ROUNDS (20), BENCH_NET_CYCLES (ecsa cycles per round, 10),
#        BENCH_RESULTS (bench/RESULTS-net.md)
#
# Everything runs on its own bridges, subnets (10.219.252.0/24 for ecsa, .253 for podman),
# state directories and podman storage, all removed at the end.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bench/net.sh BUILD" >&2
  exit 2
fi
cmdline="bench/net.sh $*"
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
rounds=${BENCH_ROUNDS:-20}
cycles=${BENCH_NET_CYCLES:-10}
results=${BENCH_RESULTS:-$src/bench/RESULTS-net.md}
ecsa=$build/ecsa-run
layout=$build/fixtures/images/layouts/busybox

[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
[ -x "$ecsa" ] || { echo "bench: no $ecsa: build it first" >&2; exit 1; }
[ -d "$layout" ] || { echo "bench: no image layout $layout: run 'make BUILD=$1 fixtures'" >&2; exit 1; }
command -v podman >/dev/null || { echo "bench: podman missing (apt-get install podman netavark)" >&2; exit 1; }

work=$(mktemp -d /tmp/ecsa-netbench.XXXXXX)
export ECSA_STATE_DIR=$work/ecsa-state
export ECSA_BRIDGE=ecsanb$$  # at most 13 characters
export ECSA_SUBNET=10.219.252.0/24
export CONTAINERS_CONF=$work/containers.conf
cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
[network]
network_backend = "netavark"
EOF
podman=(podman --root "$work/podman-root" --runroot "$work/podman-run"
        --tmpdir "$work/podman-tmp" --network-config-dir "$work/podman-net")
image=localhost/ecsa-bench-busybox:latest
pnet=ecsanb$$
had_netavark_chains=$(iptables-save 2>/dev/null | grep -c '^:NETAVARK' || true)
had_tables=$(nft list tables 2>/dev/null | tr '\n' ,)
# netavark keeps its IPAM database under /run/containers/networks whatever podman's dirs.
had_run_containers=$([ -e /run/containers ] && echo 1 || echo 0)
sleeper=
source "$src/rootfs-fixtures/images/registry.sh"

cleanup() {
  set +e
  stop_registry
  for c in $("$ecsa" ps -a -q --root "$work/ecsa-run" 2>/dev/null); do
    "$ecsa" rm -f --root "$work/ecsa-run" "$c" >/dev/null 2>&1
  done
  [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null && wait "$sleeper" 2>/dev/null
  "${podman[@]}" rm -af >/dev/null 2>&1
  "${podman[@]}" network rm -f "$pnet" >/dev/null 2>&1
  "${podman[@]}" rmi -af >/dev/null 2>&1
  # netavark leaves its top-level iptables chains behind; remove them if they are ours.
  if [ "$had_netavark_chains" = 0 ]; then
    for t in nat filter; do
      iptables-save -t "$t" 2>/dev/null | grep -E '^-A [A-Z]+ .*-j NETAVARK' | sed 's/^-A //' |
        while read -r rule; do eval iptables -t "$t" -D "$rule"; done
      chains=$(iptables-save -t "$t" 2>/dev/null | grep -oE '^:NETAVARK[^ ]*' | tr -d :)
      for c in $chains; do iptables -t "$t" -F "$c"; done
      for c in $chains; do iptables -t "$t" -X "$c"; done
      # iptables-nft created the table for netavark: remove it once it holds no rule.
      if [[ $had_tables != *"table ip $t,"* ]] &&
         [ "$(iptables-save -t "$t" 2>/dev/null | grep -c '^-A')" = 0 ]; then
        nft delete table ip "$t" 2>/dev/null
      fi
    done
  fi
  [ "$had_run_containers" = 0 ] && rm -rf /run/containers
  "$ecsa" net gc >/dev/null 2>&1
  "$ecsa" net reset >/dev/null 2>&1
  umount "$work/podman-run"/overlay "$work/podman-root"/overlay 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench: importing the busybox image into podman's storage" >&2
id=$("${podman[@]}" pull -q "oci:$layout:latest")
"${podman[@]}" tag "$id" "$image"
"${podman[@]}" network create --disable-dns --subnet 10.219.253.0/24 "$pnet" >/dev/null

echo "bench: a registry on 127.0.0.1 for ecsa-run run" >&2
start_registry "$work/registry"
port=$REGISTRY_PORT
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$layout:latest" \
  "docker://127.0.0.1:$port/busybox:latest"
ecsa_image=127.0.0.1:$port/busybox:latest
ecsa_run() { "$ecsa" run --root "$work/ecsa-run" --rm --progress none "$@" "$ecsa_image" true; }
ecsa_run --network none  # pulls the image

samples=$work/samples.tsv
: >"$samples"

podman_none() { "${podman[@]}" run --rm --network none "$image" true; }
podman_bridge() { "${podman[@]}" run --rm --network "$pnet" -p 127.0.0.1::80 "$image" true; }
ecsa_cli() {
  unshare -n sleep 600 &
  sleeper=$!
  # The namespace exists once unshare has exec'd sleep.
  while [ "$(readlink /proc/$sleeper/exe 2>/dev/null)" != "$(command -v sleep)" ]; do :; done
  local t0 t1 t2 t3
  t0=${EPOCHREALTIME/./}
  "$ecsa" net setup -p 0:80 "cli$1" "$sleeper" >/dev/null
  t1=${EPOCHREALTIME/./}
  kill "$sleeper"; wait "$sleeper" 2>/dev/null || true
  sleeper=
  t2=${EPOCHREALTIME/./}
  "$ecsa" net teardown "cli$1"
  t3=${EPOCHREALTIME/./}
  echo -e "ecsa_cli_setup\t$(( t1 - t0 ))" >>"$samples"
  echo -e "ecsa_cli_teardown\t$(( t3 - t2 ))" >>"$samples"
  echo -e "ecsa_cli_total\t$(( t1 - t0 + t3 - t2 ))" >>"$samples"
}
timed() {  # LABEL COMMAND...
  local label=$1 t0 t1
  shift
  t0=${EPOCHREALTIME/./}
  "$@" >/dev/null 2>&1
  t1=${EPOCHREALTIME/./}
  echo -e "$label\t$(( t1 - t0 ))" >>"$samples"
}
ecsa_inproc() {
  "$ecsa" net bench -p 0:80 "$cycles" >>"$work/inproc.jsonl"
  "$ecsa" net bench --live-teardown -p 0:80 "$cycles" >>"$work/inproc-live.jsonl"
}

# Warm-up: caches, the bridges and tables exist.
podman_none >/dev/null 2>&1; podman_bridge >/dev/null 2>&1; "$ecsa" net bench -p 0:80 3 >/dev/null
steps=(ecsa_inproc ecsa_cli ecsa_run_none ecsa_run_bridge podman_none podman_bridge)
for ((r = 0; r < rounds; r++)); do
  echo "bench: round $((r + 1))/$rounds" >&2
  for ((k = 0; k < ${#steps[@]}; k++)); do
    step=${steps[$(( (k + r) % ${#steps[@]} ))]}
    case $step in
      ecsa_inproc) ecsa_inproc ;;
      ecsa_cli) ecsa_cli "$r" ;;
      ecsa_run_none) timed ecsa_run_none ecsa_run --network none ;;
      ecsa_run_bridge) timed ecsa_run_bridge ecsa_run -p 0:80 ;;
      podman_none) timed podman_none podman_none ;;
      podman_bridge) timed podman_bridge podman_bridge ;;
    esac
  done
done
load=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$samples" "$work/inproc.jsonl" "$work/inproc-live.jsonl" "$results" "$cmdline" "$rounds" "$cycles" "$load" \
  "$(podman --version)" "netavark $(dpkg-query -W -f '${Version}' netavark 2>/dev/null)" <<'EOF'
import json, statistics, sys, datetime
samples, inproc, inproc_live, out, cmd, rounds, cycles, load, pver, nver = sys.argv[1:]
by = {}
for line in open(samples):
    k, v = line.split("\t")
    by.setdefault(k, []).append(int(v) / 1000.0)
setup, down, drains = [], [], []
for line in open(inproc):
    j = json.loads(line)
    setup += j["samples"]["setupMs"]
    down += j["samples"]["teardownMs"]
    drains.append(j["backgroundDrainMs"])
total = [a + b for a, b in zip(setup, down)]
live, live_drains = [], []
for line in open(inproc_live):
    j = json.loads(line)
    live += [a + b for a, b in zip(j["samples"]["setupMs"], j["samples"]["teardownMs"])]
    live_drains.append(j["backgroundDrainMs"])
def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]
med = statistics.median
none, bridge = by["podman_none"], by["podman_bridge"]
# Per round: bridge minus none of the same round (adjacent runs see the same load).
per_round = [b - n for b, n in zip(bridge, none)]
enone, ebridge = by["ecsa_run_none"], by["ecsa_run_bridge"]
ecsa_round = [b - n for b, n in zip(ebridge, enone)]
podman_net = max(med(per_round), 1e-3)
podman_net_diff_of_medians = max(med(bridge) - med(none), 1e-3)
rows = [
    ("ecsa setup_network (in process)", setup),
    ("ecsa teardown_network (in process)", down),
    ("**ecsa setup + teardown (in process)**", total),
    ("ecsa setup + teardown, namespace still alive at teardown (in process)", live),
    ("ecsa `net setup` + `net teardown` (2 CLI processes, incl. their start/exit)", by["ecsa_cli_total"]),
    ("ecsa-run run --rm, --network none", enone),
    ("ecsa-run run --rm, bridge + -p 0:80", ebridge),
    ("podman run --rm, --network none", none),
    ("podman run --rm, bridge + -p 127.0.0.1::80", bridge),
]
with open(out, "w") as f:
    f.write(f"```\n{cmd}\n```\n\n")
    f.write(f"# Bridge networking, one dynamic port mapping: ecsa vs podman\n\n")
    f.write(f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {rounds} interleaved rounds "
            f"({cycles} ecsa in-process cycles per round), load average at the end {load}; "
            f"{pver}, {nver}, runc. The machine is shared: compare within this run.\n\n")
    f.write("| measurement | samples | median ms | p25 | p75 | p90 |\n|---|---|---|---|---|---|\n")
    for name, v in rows:
        f.write(f"| {name} | {len(v)} | {med(v):.2f} | {q(v, .25):.2f} | {q(v, .75):.2f} | {q(v, .9):.2f} |\n")
    f.write(f"| **podman bridge + port overhead** (per-round bridge - none) | {len(per_round)} | "
            f"{podman_net:.2f} | {q(per_round, .25):.2f} | {q(per_round, .75):.2f} | {q(per_round, .9):.2f} |\n")
    f.write(f"| **ecsa-run run bridge + port overhead** (per-round bridge - none) | {len(ecsa_round)} | "
            f"{med(ecsa_round):.2f} | {q(ecsa_round, .25):.2f} | {q(ecsa_round, .75):.2f} | {q(ecsa_round, .9):.2f} |\n\n")
    f.write(f"- ecsa setup+teardown / podman's network overhead: **{med(total) / podman_net:.3f}** "
            f"(target <= 0.5; difference of podman's medians instead: "
            f"{med(total) / podman_net_diff_of_medians:.3f}). Target < 10 ms: "
            f"median {med(total):.2f} ms.\n")
    f.write(f"- Whole-container form, measured as podman's: ecsa-run run's network overhead is "
            f"{med(ecsa_round) / podman_net:.3f} of podman's ({med(ecsa_round):.2f} ms vs "
            f"{podman_net:.2f} ms; a difference of two ~{med(enone):.0f} ms runs, so noisy).\n")
    f.write(f"- CLI form: {med(by['ecsa_cli_total']) / podman_net:.3f} of podman's overhead "
            f"(includes starting and exiting two ecsa-run processes).\n")
    f.write(f"- Not on the path: the kernel deletes a stopped container's veth with its namespace; "
            f"links still present at teardown are labelled and deleted by a detached process "
            f"(link group delete). After each bench run they were all gone within a median "
            f"{med(drains):.1f} ms (max {max(drains):.1f} ms) of the last teardown; with the "
            f"namespace alive at teardown (every veth deleted by the detached process) within "
            f"{med(live_drains):.1f} ms (max {max(live_drains):.1f} ms).\n")
print(open(out).read())
EOF
