#!/bin/bash
# Benchmarks ecsa-runc against crun and runc (Debian's packages) on the same bundle:
#   - `run` of the busybox fixture bundle whose process is /bin/true
#   - create + start + delete --force of the same bundle
# Interleaved rounds, medians, ratio to crun, peak RSS of the runtime's process tree.
# Writes bench/RESULTS-runtime.md (bench/merge-results.sh gathers bench/RESULTS.md).
#
# Usage: bench/run.sh BUILD            (what `make bench` runs; needs root and `make fixtures`)
# Env:   BENCH_RUNS (200), BENCH_WARMUP (5), BENCH_RESULTS (bench/RESULTS-runtime.md),
#        BENCH_ALONE_RUNS (100): rounds of `run` with each runtime alone, after the interleaved ones
#
# crun 1.8.1 refuses this machine's hybrid cgroup layout, so every runtime is timed inside
# `unshare -m -p -f --mount-proc` after `umount /sys/fs/cgroup/unified`: the same pure
# cgroup v1 view for all, in a private mount namespace (the host keeps its mount), and a
# PID namespace that dies with the benchmark, taking any stray process with it.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bench/run.sh BUILD" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
runs=${BENCH_RUNS:-200}
alone_runs=${BENCH_ALONE_RUNS:-100}
warmup=${BENCH_WARMUP:-5}
results=${BENCH_RESULTS:-$src/bench/RESULTS-runtime.md}
bundle_src=$build/fixtures/busybox

if [ -z "${ECSA_BENCH_INNER:-}" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bench: needs root (containers, cgroups, unshare)" >&2
    exit 1
  fi
  if [ ! -f "$bundle_src/.stamp" ]; then
    echo "bench: no fixture bundle at $bundle_src: run 'make BUILD=$1 fixtures'" >&2
    exit 1
  fi
  mkdir -p "$build/bench"
  measure=$build/bench/measure
  if [ ! -x "$measure" ] || [ "$src/bench/measure.c" -nt "$measure" ]; then
    gcc -O2 -Wall -Wextra -Werror -o "$measure" "$src/bench/measure.c"
  fi
  exec unshare -m -p -f --mount-proc env ECSA_BENCH_INNER=1 "$0" "$@"
fi

# ---- inside the private mount and PID namespaces (this shell is PID 1) ----
measure=$build/bench/measure
if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi

work=$(mktemp -d /tmp/ecsa-bench.XXXXXX)
tag="bench$$x$RANDOM"
cleanup() {
  # Containers that a failed step left behind: delete them, then their state.
  for state in "$work"/*-state; do
    [ -d "$state" ] || continue
    rt=$(basename "$state" -state)
    bin=${runtime_bin[$rt]:-}
    [ -n "$bin" ] || continue
    for c in "$state"/*; do
      [ -d "$c" ] && "$bin" --root "$state" delete --force "$(basename "$c")" >/dev/null 2>&1 || true
    done
  done
  rm -rf "$work"
  # Cgroups named after this run's containers (runc and crun name them after the id).
  find /sys/fs/cgroup -depth -mindepth 2 -maxdepth 3 -type d -name "*$tag*" \
    -exec rmdir {} + 2>/dev/null || true
}
declare -A runtime_bin=()
trap cleanup EXIT

mkdir -p "$work/bundle"
rootfs=$bundle_src/rootfs
sed -e "s|\"path\": \"rootfs\"|\"path\": \"$rootfs\"|" \
  -e '/"args": \[/,/\]/s|"sh"|"/bin/true"|' "$bundle_src/config.json" >"$work/bundle/config.json"
if ! grep -q "\"path\": \"$rootfs\"" "$work/bundle/config.json" ||
  ! grep -q '"/bin/true"' "$work/bundle/config.json"; then
  echo "bench: could not rewrite $bundle_src/config.json (root.path, process.args)" >&2
  exit 1
fi

# One untimed run per runtime: a runtime that cannot run the bundle is skipped with the
# reason (ecsa-runc while it is being written), the others are still measured.
candidates=(ecsa:"$build/ecsa-runc" crun:"$(command -v crun || true)" runc:"$(command -v runc || true)")
available=()
declare -A version=() skipped=()
for entry in "${candidates[@]}"; do
  name=${entry%%:*}
  bin=${entry#*:}
  if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    skipped[$name]="not installed (${bin:-not in PATH})"
    continue
  fi
  mkdir -p "$work/$name-state"
  if out=$("$bin" --root "$work/$name-state" run --bundle "$work/bundle" "$tag-$name-pre" \
    </dev/null 2>&1); then
    available+=("$name")
    runtime_bin[$name]=$bin
    version[$name]=$("$bin" --version 2>/dev/null | head -2 | paste -sd ' ' || true)
    if [ "$name" = ecsa ] && [ -n "$(git -C "$src" status --porcelain 2>/dev/null | head -1)" ]; then
      version[$name]+=" (built from a working tree with uncommitted changes)"
    fi
  else
    "$bin" --root "$work/$name-state" delete --force "$tag-$name-pre" >/dev/null 2>&1 || true
    skipped[$name]="\`$(basename "$bin") run\` of the bundle failed: $(echo "$out" | tail -3 | tr '\n' ' ')"
    echo "bench: skipping $name: ${skipped[$name]}" >&2
  fi
done
if [ ${#available[@]} -eq 0 ]; then
  echo "bench: no runtime could run the bundle" >&2
  exit 1
fi

args=(-n "$runs" -w "$warmup" -r "$build/bench/raw.tsv" --)
sep=()
for name in "${available[@]}"; do
  bin=${runtime_bin[$name]}
  state=$work/$name-state
  args+=("${sep[@]}" "$name/run" "$bin" --root "$state" run --bundle "$work/bundle" "$tag-$name-r{i}")
  sep=(:::)
  args+=(::: "$name/lifecycle"
    "$bin" --root "$state" create --bundle "$work/bundle" "$tag-$name-c{i}" ";;"
    "$bin" --root "$state" start "$tag-$name-c{i}" ";;"
    "$bin" --root "$state" delete --force "$tag-$name-c{i}")
done
echo "bench: ${available[*]}: $runs interleaved rounds after $warmup warm-up rounds" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
status=0
"$measure" "${args[@]}" >"$work/summary" || status=$?
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cat "$work/summary" >&2
# The run case once more per runtime, alone: rounds back to back, nothing of the others in
# between (see the cgroup note in RESULTS.md).
: >"$work/alone"
for name in "${available[@]}"; do
  bin=${runtime_bin[$name]}
  "$measure" -n "$alone_runs" -w "$warmup" -- "$name/run" "$bin" --root "$work/$name-state" run \
    --bundle "$work/bundle" "$tag-$name-a{i}" >>"$work/alone" || status=$?
done
cat "$work/alone" >&2

# ---- RESULTS.md ----
# summary lines: LABEL runs failed median p25 p75 min rss_median_kib rss_max_kib
median_of() { awk -v l="$1" '$1 == l && $2 > 0 { print $4 }' "${2:-$work/summary}"; }
ratio() {
  local m base
  m=$(median_of "$1" "${3:-}")
  base=$(median_of "$2" "${3:-}")
  if [ -n "$m" ] && [ -n "$base" ]; then awk -v a="$m" -v b="$base" 'BEGIN { printf "%.2f", a / b }'; else echo "-"; fi
}
row() {
  local label=$1 name=${1%%/*} what=${1#*/} ref file=${2:-$work/summary}
  ref="crun/$what"
  awk -v l="$label" -v n="$name" -v w="$what" -v r="$(ratio "$label" "$ref" "$file")" '
    $1 == l {
      if ($2 == 0) { printf "| %s | %s | failed | | | | | |\n", n, w; next }
      printf "| %s | %s | %.2f | %.2f-%.2f | %.2f | %s | %.1f | %.1f |%s\n", n, w, $4, $5, $6, $7, r,
        $8 / 1024, $9 / 1024, ($3 == "1" ? " failed in a later round" : "")
    }' "$file"
}
{
  echo "# Runtime benchmarks: ecsa-runc against crun and runc"
  echo
  echo "Written by \`bench/run.sh\` (\`make bench\`) on $(date -u '+%Y-%m-%d %H:%M UTC'):"
  echo "$(nproc) cores, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -m)."
  echo
  echo "Exact command: \`BENCH_RUNS=$runs BENCH_WARMUP=$warmup bench/run.sh $(basename "$build")\` (what"
  echo "\`make BUILD=$(basename "$build") bench\` runs), which measures with this command, under a shell"
  echo "that is PID 1 of \`unshare -m -p -f --mount-proc\`, after \`umount /sys/fs/cgroup/unified\`:"
  echo
  echo '```'
  # {i} needs no quoting (no brace expansion without a comma); $WORK is the mktemp directory.
  printf '%q ' "$measure" "${args[@]}" | sed -e "s|$work|\$WORK|g" -e "s|$src/||g" -e 's|\\{i\\}|{i}|g'
  echo
  echo '```'
  echo
  echo "- Bundle: the busybox fixture (\`$(basename "$build")/fixtures/busybox\`, \`make fixtures\`) with"
  echo "  \`process.args\` [\"/bin/true\"] and \`root.path\` made absolute; every container gets a unique id,"
  echo "  every runtime its own \`--root\` state directory."
  echo "- All runtimes see the same pure cgroup v1 layout: crun 1.8.1 refuses the hybrid one of this"
  echo "  machine (\"cgroups in hybrid mode not supported\"), so the cgroup2 mount is unmounted in a"
  echo "  private mount namespace for all of them."
  echo "- $runs rounds after $warmup warm-up rounds; each round runs every case once, the order rotating"
  echo "  by one per round, so that the noise of this shared machine falls on all alike. Compare the"
  echo "  medians and ratios of one run, not absolute numbers across runs."
  echo "- Load average (1, 5, 15 min) before: $load_before, after: $load_after (other work on the"
  echo "  machine; the medians of all runtimes carry it alike)."
  echo "- Wall time: fork to exit of the runtime command, CLOCK_MONOTONIC (\`bench/measure.c\`);"
  echo "  lifecycle = \`create\` + \`start\` + \`delete --force\` run back to back."
  echo "- Peak RSS: \`ru_maxrss\` from wait4, the largest process of the runtime's tree (the runtime,"
  echo "  its re-executed init, the container process) over the case's steps."
  echo "- cgroup v1 attach: a runtime that moves its container's init by pid into the cgroup (crun,"
  echo "  runc) waits for an RCU grace period, unless another such move ran a moment before; ecsa's"
  echo "  init enters its cgroup itself, which takes no grace period. So in these interleaved rounds"
  echo "  crun and runc no longer profit from the grace period an ecsa round used to pay just before"
  echo "  them. The second table below runs each runtime alone, back to back, which removes that"
  echo "  effect (a runtime then profits from its own previous round)."
  echo
  echo "| runtime | case | median ms | p25-p75 ms | min ms | ratio to crun | peak RSS median MiB | peak RSS max MiB |"
  echo "|---|---|---|---|---|---|---|---|"
  for what in run lifecycle; do
    for name in "${available[@]}"; do row "$name/$what"; done
  done
  echo
  echo "The run case with each runtime alone, $alone_runs rounds back to back after $warmup warm-up rounds"
  echo "(\`measure -n $alone_runs -w $warmup -- NAME/run\` with the same command as above, one runtime after"
  echo "the other):"
  echo
  echo "| runtime | case | median ms | p25-p75 ms | min ms | ratio to crun | peak RSS median MiB | peak RSS max MiB |"
  echo "|---|---|---|---|---|---|---|---|"
  for name in "${available[@]}"; do row "$name/run" "$work/alone"; done
  echo
  echo "Versions:"
  for name in "${available[@]}"; do echo "- $name: ${version[$name]}"; done
  if [ ${#skipped[@]} -gt 0 ]; then
    echo
    echo "Not measured:"
    for name in "${!skipped[@]}"; do echo "- $name: ${skipped[$name]}"; done
  fi
  echo
  echo "Raw samples (label, round, ms, rss_kib): \`$(basename "$build")/bench/raw.tsv\`."
} >"$results"
echo "bench: results in $results" >&2
exit "$status"
