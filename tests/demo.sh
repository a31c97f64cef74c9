#!/bin/bash
# The main job, end to end, on this machine (as root): check the host, start a local
# registry on 127.0.0.1, push the busybox fixture image to it, pull it with ecsa-run, run an
# ECS task definition with a dynamic host port (bridge mode, hostPort 0) under its
# supervisor, send an HTTP request to the published port, stop and remove the task. Also
# shows the runc-compatible lifecycle.
set -euo pipefail
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
ecsa="$(cd "$build" && pwd)/ecsa-run"
work=$(mktemp -d /tmp/ecsa-demo.XXXXXX)
export ECSA_STATE_DIR="$work/state"
root="$work/run"
source "$src/rootfs-fixtures/images/registry.sh"
cleanup() {
  for id in $("$ecsa" task ls -q 2>/dev/null); do "$ecsa" task rm -f --root "$root" "$id" >/dev/null 2>&1 || true; done
  "$ecsa" net reset >/dev/null 2>&1 || true
  stop_registry
  rm -rf "$work"
}
trap cleanup EXIT

echo "== ecsa-run check"
"$ecsa" check || true

echo "== a local registry on 127.0.0.1 with the busybox fixture image"
start_registry "$work/registry"
port=$REGISTRY_PORT
"$src/rootfs-fixtures/images/push-oci-images.sh" "$build/fixtures/images/layouts" "127.0.0.1:$port"
image="127.0.0.1:$port/busybox:latest"

echo "== ecsa-run pull $image"
"$ecsa" pull --progress plain "$image"
"$ecsa" images

echo "== ecsa-run task run: an ECS task definition, bridge network, hostPort 0"
cat >"$work/web-task.json" <<JSON
{"family": "demo-web", "requiresCompatibilities": ["EXTERNAL"], "networkMode": "bridge",
 "cpu": "256", "memory": "128",
 "containerDefinitions": [
  {"name": "web", "image": "$image", "memory": 64, "essential": true,
   "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
   "healthCheck": {"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/ || true"], "interval": 5},
   "entryPoint": ["sh", "-c"],
   "command": ["mkdir -p /www && echo \\"hello from an ECS task on \$(hostname)\\" > /www/index.html && exec httpd -f -p 80 -h /www"]},
  {"name": "log", "image": "$image", "memory": 16, "essential": false,
   "dependsOn": [{"containerName": "web", "condition": "START"}],
   "command": ["sh", "-c", "echo sidecar up; sleep 3600"]}]}
JSON
task_id=$("$ecsa" task run --root "$root" -q --progress plain "$work/web-task.json")
"$ecsa" task describe "$task_id"
"$ecsa" task ls
host_port=$("$ecsa" task describe --format json "$task_id" | python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["containers"][0]["networkBindings"][0]["hostPort"])')
echo "== GET http://127.0.0.1:$host_port/"
body=
for _ in $(seq 50); do
  if body=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$host_port/', timeout=2).read().decode(), end='')" 2>/dev/null); then break; fi
  sleep 0.1
done
echo "$body"
[ -n "$body" ] || { echo "demo: no HTTP answer on port $host_port" >&2; exit 1; }
"$ecsa" task logs "$task_id" log
"$ecsa" task stop --root "$root" --timeout 2 "$task_id"
"$ecsa" task rm "$task_id" >/dev/null

echo "== the runc-compatible face: create, start, state, delete of the busybox bundle"
bundle="$work/bundle"
mkdir -p "$bundle"
rootfs=$(cd "$build/fixtures/busybox/rootfs" && pwd)
python3 - "$build/fixtures/busybox/config.json" "$bundle/config.json" "$rootfs" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"] = {"path": sys.argv[3], "readonly": True}
c["process"]["args"] = ["sh", "-c", "echo hello from $(hostname), pid $$; exit 3"]
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
"$ecsa" oci --root "$root" create --bundle "$bundle" demo
echo "state: $("$ecsa" oci --root "$root" state demo | tr -d '\n ')"
"$ecsa" oci --root "$root" start demo
sleep 0.2
echo "state: $("$ecsa" oci --root "$root" state demo | tr -d '\n ')"
"$ecsa" oci --root "$root" delete demo
set +e
"$ecsa" oci --root "$root" run --bundle "$bundle" demo2
echo "run exit status: $? (the container's)"
