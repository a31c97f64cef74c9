#!/bin/bash
# Writes bench/hot-text.order: the functions that `ecsa-runc run` of the benchmark bundle
# (bench/run.sh's) executes, in the order they first run, as the input section names gold
# orders with --section-ordering-file (the Makefile's ecsa-run link). The kernel maps a
# binary's text in 64 KiB fault-around blocks: packed together, the few hundred functions of
# a container start cost ~0.7 MiB of RSS instead of ~1.7 MiB spread over the whole text.
#
# Usage: bench/hot-text.sh BUILD   (root; x86_64; `make fixtures`), then relink ecsa-run.
# Rerun it after larger changes to the start path: functions missing from the list still
# work, they are only placed among the cold ones.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: bench/hot-text.sh BUILD" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
# One container start on the host's cgroup layout, one on the pure v1 view of bench/run.sh
# (the cgroup2 mount unmounted in a private mount namespace): the functions of both.
trace() {
  local work=$1 out=$2
  rm -rf "$work/state"
  "$build/bench/steptrace" "$build/ecsa-run" "$out" -- "$build/ecsa-runc" --root "$work/state" \
    run --bundle "$work/bundle" "hot$$"
}
if [ -z "${ECSA_HOT_INNER:-}" ]; then
  mkdir -p "$build/bench"
  gcc -O2 -Wall -Wextra -Werror -o "$build/bench/steptrace" "$src/bench/steptrace.c"
  work=$(mktemp -d /tmp/ecsa-hot.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  rootfs=$build/fixtures/busybox/rootfs
  mkdir -p "$work/bundle"
  sed -e "s|\"path\": \"rootfs\"|\"path\": \"$rootfs\"|" \
    -e '/"args": \[/,/\]/s|"sh"|"/bin/true"|' "$build/fixtures/busybox/config.json" >"$work/bundle/config.json"
  trace "$work" "$work/rips-host"
  ECSA_HOT_INNER=$work unshare -m -p -f --mount-proc "$0" "$@"
  exit
fi
work=$ECSA_HOT_INNER
if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
trace "$work" "$work/rips-v1"
cat "$work/rips-v1" "$work/rips-host" >"$work/rips"
nm -S --defined-only "$build/ecsa-run" | awk '$3 ~ /^[tTwW]$/ && NF == 4 { print $1, $2, $4 }' >"$work/syms"
python3 - "$work/syms" "$work/rips" >"$src/bench/hot-text.order" <<'PY'
import bisect, sys
syms = sorted((int(a, 16), int(s, 16), n) for a, s, n in (l.split() for l in open(sys.argv[1])))
starts = [s[0] for s in syms]
order, seen = [], set()
for line in open(sys.argv[2]):
    rip = int(line, 16)
    i = bisect.bisect_right(starts, rip) - 1
    if i < 0 or rip >= syms[i][0] + max(syms[i][1], 1) or syms[i][2] in seen:
        continue
    seen.add(syms[i][2])
    order.append(syms[i][2])
for name in order:
    # -ffunction-sections: .text.<name>; static constructors and main: .text.startup.<name>;
    # the cold part "<name>.cold" of a function: .text.unlikely.<name>.
    if name.endswith(".cold"):
        print(".text.unlikely." + name[:-5])
    else:
        print(".text." + name)
        print(".text.startup." + name)
PY
echo "hot-text: $(grep -c '' "$src/bench/hot-text.order") section names in bench/hot-text.order" >&2
