#!/bin/bash
# The main job, end to end, on this machine (as root): check the host, then run a container
# from the busybox fixture bundle through the runc-compatible lifecycle with a memory and cpu
# limit. It grows into the full ECS demo (local registry, pull, task with a dynamic host port)
# as the image and task issues land.
set -euo pipefail
build=${1:-build}
ecsa="$build/ecsa-run"
root=$(mktemp -d /run/ecsa-demo.XXXXXX)
bundle=$(mktemp -d /tmp/ecsa-demo-bundle.XXXXXX)
trap '"$ecsa" oci --root "$root" delete --force demo >/dev/null 2>&1 || true; rm -rf "$root" "$bundle"' EXIT

echo "== ecsa-run check"
"$ecsa" check || true

echo "== a container from $build/fixtures/busybox (memory 64 MiB, cpu 0.5)"
rootfs=$(cd "$build/fixtures/busybox/rootfs" && pwd)
python3 - "$build/fixtures/busybox/config.json" "$bundle/config.json" "$rootfs" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"] = {"path": sys.argv[3], "readonly": True}
c["hostname"] = "demo"
c["process"]["args"] = ["sh", "-c", "echo hello from $(hostname), pid $$; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; sleep 2"]
c["linux"]["resources"]["memory"] = {"limit": 64 << 20}
c["linux"]["resources"]["cpu"] = {"quota": 50000, "period": 100000}
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
"$ecsa" oci --root "$root" create --bundle "$bundle" demo
echo "state after create: $("$ecsa" oci --root "$root" state demo | tr -d '\n ')"
"$ecsa" oci --root "$root" start demo
echo "state after start:  $("$ecsa" oci --root "$root" state demo | tr -d '\n ')"
sleep 2.5
echo "state after exit:   $("$ecsa" oci --root "$root" state demo | tr -d '\n ')"
"$ecsa" oci --root "$root" delete demo
echo "== run in the foreground: exit status propagates"
set +e
"$ecsa" oci --root "$root" run --bundle "$bundle" demo2 >/dev/null
echo "exit status: $?"
