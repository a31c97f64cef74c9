# Sourced by the benchmarks and the demo: Debian's docker-registry on a free loopback port,
# as tests/support/registry.cpp starts it for the tests.
#   start_registry DIR   config, storage and log under DIR; sets REGISTRY_PORT, REGISTRY_PID
#                        (a job of the calling shell) once the registry answers
#   stop_registry        kills it and waits for it (safe to call when none was started)
REGISTRY_PID=
REGISTRY_PORT=

start_registry() {
  local dir=$1
  mkdir -p "$dir"
  REGISTRY_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf '%s\n' "version: 0.1" "log:" "  level: warn" "  accesslog:" "    disabled: true" \
    "storage:" "  filesystem:" "    rootdirectory: $dir/storage" \
    "http:" "  addr: 127.0.0.1:$REGISTRY_PORT" >"$dir/config.yml"
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  REGISTRY_PID=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$REGISTRY_PORT") 2>/dev/null; then return 0; fi
    if ! kill -0 "$REGISTRY_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "docker-registry did not start on 127.0.0.1:$REGISTRY_PORT:" >&2
  cat "$dir/log" >&2
  return 1
}

stop_registry() {
  if [ -n "$REGISTRY_PID" ]; then
    kill "$REGISTRY_PID" 2>/dev/null || true
    wait "$REGISTRY_PID" 2>/dev/null || true
    REGISTRY_PID=
  fi
}
