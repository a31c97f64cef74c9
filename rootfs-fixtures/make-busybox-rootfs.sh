#!/bin/sh
# Builds the busybox test bundle from local material only:
#   make-busybox-rootfs.sh BUSYBOX CONFIG_TEMPLATE OUT_DIR [HELPER_BINARY...]
# OUT_DIR/rootfs gets BUSYBOX as /bin/busybox with one symlink per applet, the usual
# top-level directories, /etc/passwd, /etc/group and /etc/hostname, and the helpers in
# /usr/bin; OUT_DIR/config.json is a copy of CONFIG_TEMPLATE. The bundle is assembled
# beside OUT_DIR and renamed into place, so an interrupted build leaves no half rootfs.
set -eu
busybox=$1 template=$2 out=$3
shift 3

tmp="$out.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp/rootfs"
root="$tmp/rootfs"

for d in bin sbin usr/bin usr/sbin proc sys dev etc root var var/log var/tmp home/app; do
  mkdir -p "$root/$d"
done
mkdir -m 1777 "$root/tmp"
chmod 1777 "$root/var/tmp"
chmod 0700 "$root/root"
chown 1000:1000 "$root/home/app"

cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
# One symlink per applet at the path busybox itself lists (bin/sh, usr/bin/env, ...).
"$busybox" --list-full | while read -r applet; do
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -sf /bin/busybox "$root/$applet"
done

for helper in "$@"; do
  install -m 0755 "$helper" "$root/usr/bin/$(basename "$helper")"
done

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
app:x:1000:
nobody:x:65534:
GROUP
echo busybox >"$root/etc/hostname"
chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/hostname"

cp "$template" "$tmp/config.json"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
