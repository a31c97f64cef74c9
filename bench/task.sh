#!/bin/bash
# Benchmarks `ecsa-run task run` of a two-container task with a dynamic host port (busybox
# httpd with hostPort 0, plus a sidecar), images cached:
#   - time until RUNNING: wall time of `task run` (it returns once every essential container
#     runs, networking and port mapping included), median over the rounds;
#   - the supervisor's resident memory (RSS and PSS from /proc/PID/smaps_rollup) one second
#     after RUNNING, and again after a health check ran (the task has one every 5 s);
#   - the task's memory overhead beyond its containers': every process of ecsa that lives
#     as long as the task (the supervisor only: no shim, no pause container, no daemon).
# For scale, Docker's and podman's figures on this kind of machine are in
# ../shared/reference/peer-baselines.md (podman's conmon alone: 2.0 MiB RSS per container).
#
# Usage: bench/task.sh BUILD     (root; docker-registry and skopeo; `make BUILD=... fixtures`)
# Env:   BENCH_ROUNDS (20), BENCH_RESULTS (bench/RESULTS-task.md)
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bench/task.sh BUILD" >&2
  exit 2
fi
cmdline="bench/task.sh $*"
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
rounds=${BENCH_ROUNDS:-20}
results=${BENCH_RESULTS:-$src/bench/RESULTS-task.md}
ecsa=$build/ecsa-run
images=$build/fixtures/images/layouts
[ -x "$ecsa" ] || { echo "bench: $ecsa missing: run make BUILD=$1" >&2; exit 1; }
[ -d "$images/busybox" ] || { echo "bench: no fixture images: run make BUILD=$1 fixtures" >&2; exit 1; }

work=$(mktemp -d /tmp/ecsa-bench-task.XXXXXX)
export ECSA_STATE_DIR=$work/state ECSA_BRIDGE=ecsab$$ ECSA_SUBNET=10.223.$(($$ % 250)).0/24
rt=$work/run
source "$src/rootfs-fixtures/images/registry.sh"
cleanup() {
  for id in $("$ecsa" task ls -q 2>/dev/null); do "$ecsa" task rm -f --root "$rt" "$id" >/dev/null 2>&1 || true; done
  "$ecsa" net reset >/dev/null 2>&1 || true
  stop_registry
  rm -rf "$work"
}
trap cleanup EXIT

start_registry "$work/registry"
port=$REGISTRY_PORT
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$images/busybox:latest" \
  "docker://127.0.0.1:$port/busybox:latest"
"$ecsa" pull --progress none "127.0.0.1:$port/busybox:latest" >/dev/null

cat >"$work/task.json" <<EOF
{"family": "bench-web", "containerDefinitions": [
  {"name": "web", "image": "127.0.0.1:$port/busybox:latest", "memory": 32, "essential": true,
   "portMappings": [{"containerPort": 80, "hostPort": 0}],
   "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5, "timeout": 2, "retries": 3},
   "command": ["httpd", "-f", "-p", "80", "-h", "/"]},
  {"name": "sidecar", "image": "127.0.0.1:$port/busybox:latest", "memory": 16, "essential": false,
   "command": ["sleep", "3600"]}]}
EOF

rss_of() { awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r, p}' "/proc/$1/smaps_rollup"; }
: >"$work/times"
: >"$work/mem1"
: >"$work/mem2"
echo "bench: $rounds rounds of task run (images cached)" >&2
for i in $(seq "$rounds"); do
  t0=$(date +%s%N)
  id=$("$ecsa" task run -q --root "$rt" --progress none "$work/task.json")
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000)) >>"$work/times"
  sup=$("$ecsa" task describe --format json "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["supervisor"]["pid"])')
  hp=$("$ecsa" task describe --format json "$id" | python3 -c 'import json,sys; t=json.load(sys.stdin); print([c for c in t["containers"] if c["name"]=="web"][0]["networkBindings"][0]["hostPort"])')
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$hp/etc/hostname', timeout=5)" ||
    { echo "bench: no HTTP answer on port $hp" >&2; exit 1; }
  sleep 1
  rss_of "$sup" >>"$work/mem1"
  if [ "$i" -le 3 ]; then  # after a health check (every 5 s): fewer rounds, they are slow
    sleep 5
    rss_of "$sup" >>"$work/mem2"
  fi
  "$ecsa" task rm -f --root "$rt" "$id" >/dev/null
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
t_med=$(median <"$work/times")
t_min=$(sort -n "$work/times" | head -1)
t_max=$(sort -n "$work/times" | tail -1)
rss1=$(cut -d' ' -f1 "$work/mem1" | median)
pss1=$(cut -d' ' -f2 "$work/mem1" | median)
rss2=$(cut -d' ' -f1 "$work/mem2" | median)
pss2=$(cut -d' ' -f2 "$work/mem2" | median)
ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.2f", k / 1024}'; }
{
  echo "## ECS task: \`task run\` of a two-container task with a dynamic port"
  echo
  echo "Command: \`$cmdline\` (BENCH_ROUNDS=$rounds), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Task: busybox httpd with \`hostPort: 0\` and a health check, plus a sidecar; images cached;"
  echo "each round checks an HTTP answer on the dynamic port, then \`task rm -f\`."
  echo
  echo "| measurement | median | min | max |"
  echo "|---|---|---|---|"
  echo "| \`task run\` until both containers RUNNING (ms) | $(ms "$t_med") | $(ms "$t_min") | $(ms "$t_max") |"
  echo "| supervisor RSS 1 s after RUNNING (MiB) | $(mib "$rss1") | | |"
  echo "| supervisor PSS 1 s after RUNNING (MiB) | $(mib "$pss1") | | |"
  echo "| supervisor RSS after a health check (MiB) | $(mib "$rss2") | | |"
  echo "| supervisor PSS after a health check (MiB) | $(mib "$pss2") | | |"
  echo
  echo "Memory overhead of the task beyond its containers' own: the supervisor alone"
  echo "($(mib "$rss1") MiB RSS, $(mib "$pss1") MiB PSS); ecsa keeps no daemon, shim or pause container."
  echo "Target: supervisor RSS under 2 MiB. For scale: podman's conmon is 2.0 MiB RSS per container,"
  echo "Docker 127.5 MiB with one container (../shared/reference/peer-baselines.md)."
} >"$results"
cat "$results"
