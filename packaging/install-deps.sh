#!/bin/sh
# Installs every Debian package needed to build and test ecsa, for the host and for the
# arm64 cross build. Idempotent and non-interactive. Package lists: packaging/deps/*.txt
# (host) and packaging/deps-arm64/*.txt (installed as :arm64 for cross-linking).
set -eu
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
host_pkgs=$(cat deps/*.txt | sed 's/#.*//' | tr -s ' \n' ' ')
arm_pkgs=$(cat deps-arm64/*.txt | sed 's/#.*//' | tr -s ' \n' ' ' | sed 's/\([^ ][^ ]*\)/\1:arm64/g')
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -q
apt-get install -y -q --no-install-recommends $host_pkgs $arm_pkgs
