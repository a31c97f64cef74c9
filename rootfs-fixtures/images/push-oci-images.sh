#!/bin/sh
# Pushes the layouts made by make-oci-images.py to a registry with skopeo:
#   push-oci-images.sh IMAGES_DIR HOST:PORT [--dest-creds USER:PASS] [--dest-cert-dir DIR]
# busybox -> HOST/busybox:latest and HOST/library/busybox:latest, multi -> HOST/multi:latest
# (all platforms) and HOST/multi-docker:latest (converted to a Docker manifest list with
# Docker schema2 manifests), ecs-stress -> HOST/amazon/amazon-ecs-stress:make (when built). TLS verification is off: test registries use a throwaway CA.
set -eu
dir=$1 host=$2
shift 2
copy() {
  skopeo --insecure-policy copy -q --dest-tls-verify=false "$@"
}
copy "$@" "oci:$dir/busybox:latest" "docker://$host/busybox:latest"
copy "$@" "oci:$dir/busybox:latest" "docker://$host/library/busybox:latest"
copy "$@" --all "oci:$dir/multi:latest" "docker://$host/multi:latest"
copy "$@" --all --format v2s2 "oci:$dir/multi:latest" "docker://$host/multi-docker:latest"
if [ -d "$dir/ecs-stress" ]; then
  copy "$@" "oci:$dir/ecs-stress:make" "docker://$host/amazon/amazon-ecs-stress:make"
fi
