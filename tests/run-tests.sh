#!/bin/bash
# Runs the Catch2 test binary of a build directory and prints one summary line
# "N passed, N failed" (test cases). Usage: tests/run-tests.sh BUILD [--qemu QEMU] [catch args]
set -uo pipefail
build=$1; shift
runner=()
if [ "${1:-}" = "--qemu" ]; then runner=("$2"); shift 2; fi
export ECSA_BUILD=$(cd "$build" && pwd)
export ECSA_RUN="$ECSA_BUILD/ecsa-run"
export ECSA_FIXTURES="$ECSA_BUILD/fixtures"
log=$(mktemp)
"${runner[@]}" "$build/ecsa-tests" --durations no "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=0; failed=0
if line=$(grep -E '^All tests passed' "$log" | tail -1) && [ -n "$line" ]; then
  passed=$(sed -E 's/.* in ([0-9]+) test case.*/\1/' <<<"$line")
elif line=$(grep -E '^test cases:' "$log" | tail -1) && [ -n "$line" ]; then
  passed=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
  failed=$(grep -oE '[0-9]+ failed' <<<"$line" | head -1 | grep -oE '[0-9]+' || echo 0)
fi
rm -f "$log"
[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "${passed} passed, ${failed} failed"
exit "$rc"
