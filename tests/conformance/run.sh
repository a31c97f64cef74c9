#!/bin/bash
# OCI runtime conformance: the opencontainers/runtime-tools validation programs
# (validation/<name>/<name>.go, TAP output, runtimetest inside the container) run against a
# runtime through its runc-compatible CLI (create/start/state/kill/delete, env RUNTIME).
#
#   tests/conformance/run.sh [--runtime PATH] [--compare runc] [--only a,b,...] [--list]
#                            [--report-only]
#
#   --runtime PATH   runtime under test (default: build/ecsa-runc, or $BUILD/ecsa-runc)
#   --compare runc   also run every test against Debian's runc, side by side (reference only:
#                    runc's results never change the exit status)
#   --only a,b       run only these tests
#   --list           print the test names and exit
#   --report-only    no build, no run: classify the TAP of the last run again and report
#
# Prints one row per test (pass/FAIL/skip, with the TAP counts), then
#   conformance: N passed, N failed, N skipped
# and exits 1 only on a regression: a test of the runtime under test that fails and is not in
# tests/conformance/known-failures.txt (lines "<test> <reason>"; lines "point <ERE> <reason>"
# name TAP points that fail because of the host, not the runtime). A listed test that now
# passes is reported so the list can shrink. Run as root; takes about 5 minutes per runtime.
#
# Idempotent set-up: apt-get installs what is missing (golang-go and the Go source packages the
# suite imports), the suite is built with GOPATH/GO111MODULE=off against Debian's sources
# (nothing is downloaded), the rootfs tarball is built from busybox-static.
# The validation programs themselves are not in Debian's -dev package: RUNTIME_TOOLS_SRC names a
# checkout of opencontainers/runtime-tools holding validation/ and cmd/runtimetest/main.go
# (default /var/cache/ecsa-conformance/runtime-tools). Packages Debian lacks (mndrix/tap-go,
# runtimetest's mount and rlimit helpers) are small replacements in tests/conformance/go/.
# Outputs (TAP and stderr of every test) go under $CONFORMANCE_WORK/results/<runtime>/.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
src=${RUNTIME_TOOLS_SRC:-/var/cache/ecsa-conformance/runtime-tools}
work=${CONFORMANCE_WORK:-/var/cache/ecsa-conformance/work}
known="$here/known-failures.txt"
per_test_timeout=${CONFORMANCE_TIMEOUT:-180}

runtime_bin="$repo/${BUILD:-build}/ecsa-runc"
compare=""
only=""
list_only=0
report_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runtime) runtime_bin=$2; shift 2 ;;
    --runtime=*) runtime_bin=${1#*=}; shift ;;
    --compare) compare=$2; shift 2 ;;
    --compare=*) compare=${1#*=}; shift ;;
    --only) only=$2; shift 2 ;;
    --only=*) only=${1#*=}; shift ;;
    --list) list_only=1; shift ;;
    --report-only) report_only=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$compare" ] && [ "$compare" != runc ]; then
  echo "run.sh: --compare takes runc (crun needs an unshare -m with cgroup2 unmounted on this hybrid host)" >&2
  exit 2
fi

die() { echo "run.sh: $*" >&2; exit 2; }

# --- packages -------------------------------------------------------------------------------
pkgs="golang-go golang-github-opencontainers-runtime-tools-dev golang-github-opencontainers-specs-dev
  golang-github-google-uuid-dev golang-github-satori-go.uuid-dev golang-github-mrunalp-fileutils-dev
  golang-github-urfave-cli-dev golang-github-sirupsen-logrus-dev golang-gocapability-dev
  golang-golang-x-sys-dev golang-github-hashicorp-go-multierror-dev golang-github-blang-semver-dev
  golang-github-xeipuuv-gojsonschema-dev busybox-static"
[ -n "$compare" ] && pkgs="$pkgs runc"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "run.sh: installing$missing" >&2
  apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends $missing >/dev/null; } ||
    die "apt-get install$missing failed"
fi

# --- suite sources and build ----------------------------------------------------------------
[ -f "$src/validation/util/test.go" ] && [ -f "$src/cmd/runtimetest/main.go" ] ||
  die "no runtime-tools validation sources in $src (set RUNTIME_TOOLS_SRC to a checkout of opencontainers/runtime-tools)"

case "$(uname -m)" in
  x86_64) goarch=amd64 ;; aarch64) goarch=arm64 ;; armv7l|armv6l) goarch=arm ;; *) goarch=$(uname -m) ;;
esac

mkdir -p "$work"
gopath="$work/gopath"
rt_pkg="$gopath/src/github.com/opencontainers/runtime-tools"
# The overlay GOPATH holds only what Debian lacks; everything else resolves in /usr/share/gocode.
rm -rf "$gopath"
mkdir -p "$rt_pkg/cmd/runtimetest/mount" "$gopath/src/github.com/mndrix"
cp -r "$src/validation" "$rt_pkg/validation"
cp "$here/go/validation-util-extra/"*.go "$rt_pkg/validation/util/"
cp "$src/cmd/runtimetest/main.go" "$here/go/runtimetest-extra/"*.go "$rt_pkg/cmd/runtimetest/"
cp "$here/go/runtimetest-mount/"*.go "$rt_pkg/cmd/runtimetest/mount/"
cp -r "$here/go/tap-go" "$gopath/src/github.com/mndrix/tap-go"

export GOPATH="$gopath:/usr/share/gocode" GO111MODULE=off GOFLAGS= GOCACHE="$work/gocache" CGO_ENABLED=0 GOPROXY=off
bin="$work/bin"
mkdir -p "$bin"
all_tests=$(cd "$src/validation" && for d in */; do d=${d%/}; [ "$d" = util ] || [ ! -f "$d/$d.go" ] || echo "$d"; done)
if [ "$list_only" = 1 ]; then echo "$all_tests"; exit 0; fi
if [ -n "$only" ]; then tests=$(echo "$only" | tr ',' '\n'); else tests=$all_tests; fi

if [ "$report_only" != 1 ]; then
(cd "$work" && go build -o "$bin/runtimetest" github.com/opencontainers/runtime-tools/cmd/runtimetest) ||
  die "building runtimetest failed"
for t in $tests; do
  (cd "$work" && go build -o "$bin/$t" "github.com/opencontainers/runtime-tools/validation/$t") ||
    die "building validation/$t failed"
done

# --- rootfs tarball (busybox-static, like rootfs-fixtures/) ---------------------------------
rootfs_tar="$work/rootfs-$goarch.tar.gz"
if [ ! -s "$rootfs_tar" ] || [ /bin/busybox -nt "$rootfs_tar" ] || [ "$bin/runtimetest" -nt "$rootfs_tar" ]; then
  rm -rf "$work/rootfs-bundle"
  sh "$repo/rootfs-fixtures/make-busybox-rootfs.sh" /bin/busybox \
    "$repo/rootfs-fixtures/busybox-config.json" "$work/rootfs-bundle" >/dev/null ||
    die "building the busybox rootfs failed"
  # runtimetest at /runtimetest: misc_props starts the default process without copying it.
  cp "$bin/runtimetest" "$work/rootfs-bundle/rootfs/runtimetest"
  tar -C "$work/rootfs-bundle/rootfs" -czf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$work/rootfs-bundle"
fi
fi

# --- running ----------------------------------------------------------------------------------
# Classifies one TAP stream. A failing test point whose description matches a "point" line of
# known-failures.txt is host-limited (not a failure), and so is a point failing only because the
# runtimetest output it carries (the "stdout" of its diagnostic block) has host-limited failures.
# pass: no other "not ok" (TODO aside) and exit 0; skip: only SKIPs; fail: a "not ok", a non-zero
# exit, or no test point but a diagnostic block (the hook programs report success as a plan of
# zero tests and failure as a lone diagnostic block).
# Prints "<result> <ok> <notok> <skip> <todo> <host>".
classify() {
  local tap=$1 rc=$2
  awk -v host_re="$host_re" -v rc="$rc" '
    function hosted(s) { return host_re != "" && s ~ host_re }
    /^ +"stdout": / {
      bad = 0; hst = 0; s = $0
      while (match(s, /not ok [0-9]+ - [^\\]*/)) {
        d = substr(s, RSTART, RLENGTH)
        if (d ~ /# TODO/) { } else if (hosted(d)) hst++; else bad++
        s = substr(s, RSTART + RLENGTH)
      }
      inner_host_only = (hst > 0 && bad == 0)
      next
    }
    /^  ---/ { yaml++; next }
    /^ok [0-9]+ # SKIP/ { skip++; inner_host_only = 0; next }
    /^ok [0-9]+/ { ok++; inner_host_only = 0; next }
    /^not ok [0-9]+/ {
      if ($0 ~ /# TODO/) todo++
      else if (hosted($0) || inner_host_only) host++
      else notok++
      inner_host_only = 0
      next
    }
    END {
      r = "pass"
      if (rc != 0 || notok > 0) r = "fail"
      else if (ok == 0 && host == 0 && skip > 0) r = "skip"
      else if (ok == 0 && host == 0 && yaml > 0) r = "fail"
      printf "%s %d %d %d %d %d\n", r, ok, notok, skip, todo, host
    }' "$tap"
}

# Mounts a runtime left under DIR: runc, given no mount namespace (linux_ns_itype), mounts
# the container's rootfs, /proc, /dev... in the host's mount namespace and leaves them there.
umount_under() {
  awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
}

# run_suite NAME RUNTIME: runs every test, writes $work/results/NAME/<test>.{tap,err,res}.
# The tests' bundles go to a TMPDIR of the run, removed (with any mount left in it) after
# each test.
run_suite() {
  local name=$1 rt=$2 out="$work/results/$1" run="$work/run-$1" tmp="$work/tmp-$1"
  umount_under "$tmp"
  rm -rf "$out" "$run" "$tmp"
  mkdir -p "$out" "$run" "$tmp"
  cp "$bin/runtimetest" "$rootfs_tar" "$run/"
  local before
  before=$("$rt" list -q 2>/dev/null | sort)
  for t in $tests; do
    local rc=0
    (cd "$run" && TMPDIR="$tmp" RUNTIME="$rt" timeout -k 10 "$per_test_timeout" "$bin/$t" \
      >"$out/$t.tap" 2>"$out/$t.err" </dev/null) || rc=$?
    echo "$(classify "$out/$t.tap" "$rc") rc=$rc" >"$out/$t.res"
    umount_under "$tmp"
    rm -rf "${tmp:?}"/* 2>/dev/null
  done
  # Containers a failed test left behind: only the ones this run created.
  local after id
  after=$("$rt" list -q 2>/dev/null | sort)
  for id in $(comm -13 <(echo "$before") <(echo "$after")); do
    "$rt" delete --force "$id" >/dev/null 2>&1 || true
  done
  umount_under "$tmp"
  rm -rf "$run" "$tmp"
}

# "point <ERE> <reason>" lines of known-failures.txt: test points failing for a reason of this
# host, not of the runtime (a capability root lacks, ...).
host_re=$(awk '$1 == "point" { printf "%s%s", sep, $2; sep = "|" }' "$known" 2>/dev/null)

if [ "$report_only" = 1 ]; then
  # Classify the TAP of the last run again (after a change to known-failures.txt).
  for name in ecsa runc; do
    for t in $tests; do
      f="$work/results/$name/$t"
      [ -f "$f.tap" ] || continue
      rc=$(grep -o 'rc=[0-9]*' "$f.res" 2>/dev/null | cut -d= -f2)
      echo "$(classify "$f.tap" "${rc:-0}") rc=${rc:-0}" >"$f.res"
    done
  done
  [ -d "$work/results/runc" ] && compare=runc && runc_bin=$(command -v runc)
else
[ -x "$runtime_bin" ] || die "runtime $runtime_bin is not an executable (make BUILD=... first, or --runtime)"
runtime_bin=$(cd "$(dirname "$runtime_bin")" && pwd)/$(basename "$runtime_bin")
[ "$(id -u)" = 0 ] || die "the suite creates containers: run it as root"

run_suite ecsa "$runtime_bin"
if [ -n "$compare" ]; then
  runc_bin=$(command -v runc) || die "runc not found"
  run_suite runc "$runc_bin"
fi

fi

# --- report -------------------------------------------------------------------------------------
is_known() { grep -qE "^$1([[:space:]]|$)" "$known" 2>/dev/null; }
# A known failure whose reason starts with "flaky:" may pass: not reported as fixed.
is_flaky() { grep -qE "^$1[[:space:]]+flaky:" "$known" 2>/dev/null; }
fmt_res() { # "<result> ok notok skip todo host rc=N" -> "pass (12 ok, 0 not ok, 3 skip)"
  set -- $1
  local r=$1
  [ "$r" = fail ] && r=FAIL
  printf '%s (%s ok, %s not ok, %s skip%s%s)' "$r" "$2" "$3" "$4" \
    "$([ "$6" != 0 ] && echo ", $6 host-limited")" "$([ "${7#rc=}" != 0 ] && echo ", exit ${7#rc=}")"
}
passed=0 failed=0 skipped=0 regressions="" fixed=""
if [ -n "$compare" ]; then
  printf '%-36s %-44s %s\n' TEST "ECSA ($runtime_bin)" "RUNC ($runc_bin)"
else
  printf '%-36s %s\n' TEST "RESULT ($runtime_bin)"
fi
for t in $tests; do
  res=$(cat "$work/results/ecsa/$t.res")
  case "${res%% *}" in
    pass) passed=$((passed + 1)); is_known "$t" && ! is_flaky "$t" && fixed="$fixed $t" ;;
    skip) skipped=$((skipped + 1)) ;;
    *) failed=$((failed + 1)); is_known "$t" || regressions="$regressions $t" ;;
  esac
  mark=""
  [ "${res%% *}" = fail ] && is_known "$t" && mark=" [known]"
  if [ -n "$compare" ]; then
    printf '%-36s %-44s %s\n' "$t" "$(fmt_res "$res")$mark" "$(fmt_res "$(cat "$work/results/runc/$t.res")")"
  else
    printf '%-36s %s\n' "$t" "$(fmt_res "$res")$mark"
  fi
done
if [ -n "$compare" ]; then
  rp=0 rf=0 rs=0
  for t in $tests; do
    case "$(cut -d' ' -f1 "$work/results/runc/$t.res")" in pass) rp=$((rp + 1)) ;; skip) rs=$((rs + 1)) ;; *) rf=$((rf + 1)) ;; esac
  done
  echo "runc (reference): $rp passed, $rf failed, $rs skipped"
fi
[ -n "$fixed" ] && echo "known failures that now pass (remove them from known-failures.txt):$fixed"
[ -n "$regressions" ] && echo "REGRESSIONS (failing, not in known-failures.txt):$regressions; TAP and stderr in $work/results/ecsa/"
echo "conformance: $passed passed, $failed failed, $skipped skipped"
[ -z "$regressions" ]
