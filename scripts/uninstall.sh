#!/usr/bin/env bash
# Removes lfr-edge and leaves NO biometric data behind: the watchlist store (tmpfs), the alert
# store and anything else in the state folder are deleted, and the van key that could decrypt any
# copy is destroyed. What is kept, because forces must publish and may be audited, holds no
# biometric data: the audit log and the deployment records, moved to /var/lib/lfr-records
# (pass --purge-all to delete them too).
#
#   sudo scripts/uninstall.sh [--purge-all]
#
# LFR_ROOT=DIR works as in install.sh (tests).
set -euo pipefail
R="${LFR_ROOT:-}"
REAL=1
[ -n "$R" ] && REAL=0
PURGE_ALL=0
[ "${1:-}" = "--purge-all" ] && PURGE_ALL=1
say() { echo "uninstall: $*"; }
if [ "$REAL" = 1 ] && [ "$(id -u)" -ne 0 ]; then echo "uninstall: run as root (sudo)" >&2; exit 1; fi

# 1. Stop the daemon first: it purges nothing on its own at uninstall, but it must not write.
if [ "$REAL" = 1 ]; then
  systemctl disable --now lfr.service 2>/dev/null || true
  systemctl stop 'lfr-usb-import@*.service' 2>/dev/null || true
fi

# Overwrite before unlinking. On flash this is best effort (wear levelling), which is why the
# stores are encrypted and the keys destroyed too (crypto-shredding).
scrub() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    shred -u -n 1 -z "$f" 2>/dev/null || rm -f "$f"
  done
}

# 2. The watchlist (tmpfs) and the runtime folder.
if [ -d "$R/run/lfr" ]; then
  find "$R/run/lfr" -type f -print0 | while IFS= read -r -d '' f; do scrub "$f"; done
  rm -rf "$R/run/lfr"
fi

# 3. State: keep only the audit log and deployment records (no biometric data), scrub the rest.
STATE="$R/var/lib/lfr"
if [ -d "$STATE" ]; then
  if [ "$PURGE_ALL" = 0 ]; then
    keep="$R/var/lib/lfr-records"
    install -d -m 0750 "$keep"
    for f in "$STATE"/audit.db* "$STATE"/deployments.db*; do [ -f "$f" ] && mv "$f" "$keep/"; done
    say "kept the audit log and deployment records in /var/lib/lfr-records"
  fi
  find "$STATE" -type f -print0 | while IFS= read -r -d '' f; do scrub "$f"; done
  rm -rf "$STATE"
fi

# 4. Keys, secrets, certificates and config.
if [ -d "$R/etc/lfr" ]; then
  find "$R/etc/lfr" -type f \( -name '*.key' -o -name '*.key.cred' -o -name '*.pass' \) -print0 | while IFS= read -r -d '' f; do scrub "$f"; done
  rm -rf "$R/etc/lfr"
fi

# 5. Program, units, rules, broker snippets.
rm -rf "$R/opt/lfr"
rm -f "$R/usr/local/bin/lfr" \
  "$R/etc/systemd/system/lfr.service" "$R/etc/systemd/system/lfr-usb-import@.service" \
  "$R/etc/systemd/system/mosquitto.service.d/lfr.conf" "$R/etc/udev/rules.d/99-lfr-usb.rules" \
  "$R/etc/mosquitto/lfr.conf" "$R/etc/mosquitto/lfr.acl" "$R/etc/mosquitto/lfr.passwd" \
  "$R/etc/mosquitto/certs/lfr-ca.crt" "$R/etc/mosquitto/certs/lfr-broker.crt" "$R/etc/mosquitto/certs/lfr-broker.key"
# The broker's accounts, ACLs and certificate (lfr broker setup), keys scrubbed first.
if [ -d "$R/etc/mosquitto/lfr" ]; then
  find "$R/etc/mosquitto/lfr" -type f \( -name '*.key' -o -name '*.passwd' \) -print0 | while IFS= read -r -d '' f; do scrub "$f"; done
  rm -rf "$R/etc/mosquitto/lfr"
fi
rmdir "$R/etc/systemd/system/mosquitto.service.d" 2>/dev/null || true

if [ "$REAL" = 1 ]; then
  systemctl daemon-reload
  udevadm control --reload || true
  systemctl try-restart mosquitto.service || true
  getent passwd lfr >/dev/null && userdel lfr || true
fi

# 6. Prove it: no store of either kind may remain anywhere we wrote.
left="$(find "$R/run/lfr" "$R/var/lib/lfr" "$R/var/lib/lfr-records" "$R/opt/lfr" "$R/etc/lfr" "$R/etc/mosquitto" \( -name 'watchlist*.db*' -o -name 'alerts*.db*' -o -name '*.lfrwl' -o -name 'van.key' -o -name 'van.key.cred' \) 2>/dev/null || true)"
if [ -n "$left" ]; then
  echo "uninstall: ERROR: biometric stores or keys remain:" >&2
  echo "$left" >&2
  exit 1
fi
say "done: no watchlist, alert store or van key left"
