#!/bin/bash
# Writes bench/RESULTS.md from the per-area results each benchmark script writes
# (bench/RESULTS-<area>.md, each starting with the command that produced it).
# Usage: bench/merge-results.sh    (what every `make bench*` target runs last)
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
out=$dir/RESULTS.md
{
  echo "# ecsa benchmarks"
  echo
  echo "Made by \`make bench\` (or \`make bench-runtime|bench-net|bench-pull|bench-task\` for one"
  echo "part); each section below is one script's output, with its command, date and machine."
  echo "Peers run in the same script, interleaved; ratios compare medians of the same run."
  echo
  for area in runtime net pull task; do
    f=$dir/RESULTS-$area.md
    echo "---"
    echo
    if [ -f "$f" ]; then cat "$f"; else echo "($area: not run yet: make bench-$area)"; fi
    echo
  done
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "bench: wrote $out" >&2
