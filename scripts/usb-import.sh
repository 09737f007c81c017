#!/usr/bin/env bash
# Run by lfr-usb-import@%I.service (root) when udev sees a USB stick partition, e.g. "sdb1".
# Mounts it read-only and without exec/suid/dev/symlinks (vfat/exFAT only), and `lfr usb-import`
# (as the lfr user) sends the one *.lfrwl bundle's bytes to the running daemon; then unmounts,
# whatever happened.
# The result (composition or the reason for refusal) goes to the journal, the audit log and the
# retained status topic, where the tablets show it.
#
# Bench testing: when the argument is an existing directory it stands in for the mounted stick
# and nothing is mounted (test/integration/usb-import.test.ts uses this).
set -euo pipefail
LFR_HOME="${LFR_HOME:-/opt/lfr}"
LFR_USER="${LFR_USER:-lfr}"
LFR_ENTRY="${LFR_ENTRY:-$LFR_HOME/dist/src/cli/entry.js}"
arg="${1:?usage: usb-import.sh DEVICE-NAME (e.g. sdb1) | DIRECTORY}"

lfr() {
  if [ "$(id -u)" -eq 0 ] && [ "$(id -un)" != "$LFR_USER" ]; then
    runuser -u "$LFR_USER" -- /usr/bin/node "$LFR_ENTRY" "$@"
  else
    node "$LFR_ENTRY" "$@"
  fi
}

if [ -d "$arg" ]; then
  lfr usb-import "$arg"
  exit $?
fi

case "$arg" in
  *[!a-z0-9]*) echo "usb-import: refusing odd device name '$arg'" >&2; exit 2 ;;
esac
dev="/dev/$arg"
[ -b "$dev" ] || { echo "usb-import: $dev is not a block device" >&2; exit 2; }
mnt="/run/lfr-usb/$arg"
mkdir -p "$mnt"
chmod 0755 /run/lfr-usb
fstype="$(blkid -o value -s TYPE "$dev" || true)"
# Read-only, no device nodes, no set-uid, nothing executable, no symlink followed. FAT and exFAT
# have no owners: the files are given to lfr, readable by it only. Nothing else is mounted:
# an ext4 stick could carry device nodes, set-uid files and symlinks into the van.
opts="ro,nosuid,nodev,noexec,nosymfollow"
uid="$(id -u "$LFR_USER")"; gid="$(id -g "$LFR_USER")"
case "$fstype" in
  vfat|exfat) opts="$opts,uid=$uid,gid=$gid,umask=0277" ;;
  *) echo "usb-import: $dev has file system '$fstype', not vfat/exfat: ignored" >&2; rmdir "$mnt"; exit 0 ;;
esac
mtype="$fstype"
# exFAT through the kernel driver (Debian 12 has it); exfat-fuse only where the kernel has none.
if [ "$fstype" = exfat ] && ! grep -qw exfat /proc/filesystems && [ -x /sbin/mount.exfat-fuse ]; then mtype=exfat-fuse; fi
cleanup() { umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; rmdir "$mnt" 2>/dev/null || true; }
trap cleanup EXIT
if [ "$mtype" = exfat-fuse ]; then
  /sbin/mount.exfat-fuse -o "${opts/,nosymfollow/}" "$dev" "$mnt"   # FUSE: exFAT has no symlinks anyway
else
  mount -t "$mtype" -o "$opts" "$dev" "$mnt"
fi
echo "usb-import: $dev mounted read-only at $mnt"
lfr usb-import "$mnt"
