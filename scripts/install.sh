#!/usr/bin/env bash
# Installs lfr-edge on a van's box (Debian 12 / Jetson Linux), from a built checkout (run
# scripts/setup.sh first): the lfr user, /opt/lfr, /etc/lfr (config, keys, TLS, secrets) with
# tight permissions, the systemd units, the udev rule for USB import, the broker's config, CA,
# certificate and passwords. Idempotent: files that hold state or secrets (config, keys, CA,
# certificates, passwords) are created once and never overwritten; files we own (units, rules,
# broker snippets, the program) are replaced. Run it again after an update.
#
#   sudo scripts/install.sh
#
# Environment (mainly for tests, which install into a temp folder without root):
#   LFR_ROOT=DIR        install under DIR instead of / (no user, no chown, no systemctl)
#   LFR_SRC=DIR         the built checkout to install from (default: this script's repo)
#   LFR_BROKER_HOSTS    extra names/IPs for the broker certificate, e.g. "10.20.0.1 van7.local"
#   LFR_TABLET_NET      networks tablets connect from (the van Wi-Fi), e.g. "10.20.0.0/24"; the
#                       broker's unit accepts nothing else (default: the private ranges)
set -euo pipefail
SRC="${LFR_SRC:-$(cd "$(dirname "$0")/.." && pwd)}"
R="${LFR_ROOT:-}"
REAL=1
[ -n "$R" ] && REAL=0
say() { echo "install: $*"; }

if [ "$REAL" = 1 ] && [ "$(id -u)" -ne 0 ]; then echo "install: run as root (sudo)" >&2; exit 1; fi
[ -f "$SRC/dist/src/cli/entry.js" ] || { echo "install: $SRC is not built (run scripts/setup.sh or npm run build)" >&2; exit 1; }

# Ownership only on a real system; under LFR_ROOT the caller owns everything.
own() { [ "$REAL" = 1 ] && chown "$@" || true; }

# 1. The service user: no shell, no home outside its state folder.
if [ "$REAL" = 1 ] && ! getent passwd lfr >/dev/null; then
  useradd --system --user-group --home-dir /var/lib/lfr --no-create-home --shell /usr/sbin/nologin lfr
  say "created system user lfr"
fi

# 2. The program: replaced as a whole so nothing from an older version lingers.
install -d -m 0755 "$R/opt/lfr"
for part in package.json dist node_modules models bin web docs hardware; do
  [ -e "$SRC/$part" ] || continue
  rm -rf "$R/opt/lfr/$part.new"
  cp -a "$SRC/$part" "$R/opt/lfr/$part.new"
  rm -rf "$R/opt/lfr/$part"
  mv "$R/opt/lfr/$part.new" "$R/opt/lfr/$part"
done
install -d -m 0755 "$R/opt/lfr/scripts"
install -m 0755 "$SRC/scripts/usb-import.sh" "$R/opt/lfr/scripts/usb-import.sh"
install -m 0755 "$SRC/scripts/uninstall.sh" "$R/opt/lfr/scripts/uninstall.sh"
install -d -m 0755 "$R/usr/local/bin"
ln -sfn /opt/lfr/bin/lfr.js "$R/usr/local/bin/lfr"

# 3. Configuration and secrets: root-owned, readable by the lfr group only.
install -d -m 0750 "$R/etc/lfr" "$R/etc/lfr/keys" "$R/etc/lfr/secrets" "$R/etc/lfr/tls"
own root:lfr "$R/etc/lfr" "$R/etc/lfr/keys" "$R/etc/lfr/secrets" "$R/etc/lfr/tls"
if [ ! -f "$R/etc/lfr/lfr.json" ]; then
  cat > "$R/etc/lfr/lfr.json" <<'JSON'
{
  "van": { "id": "van-1" },
  "paths": { "stateDir": "/var/lib/lfr", "runtimeDir": "/run/lfr", "modelsDir": "/opt/lfr/models" },
  "watchlist": { "vanKeyFile": "/etc/lfr/keys/van.key", "trustedSigningKeys": ["/etc/lfr/keys/force.pub"] },
  "mqtt": { "url": "mqtts://127.0.0.1:8883", "username": "lfr-daemon", "passwordFile": "/etc/lfr/secrets/mqtt-daemon.pass", "caFile": "/etc/lfr/tls/ca.crt" },
  "cameras": []
}
JSON
  chmod 0640 "$R/etc/lfr/lfr.json"
  own root:lfr "$R/etc/lfr/lfr.json"
  say "wrote a starting config /etc/lfr/lfr.json: add the cameras and the van id"
fi

# 4. Van key pair (X25519): bundles are encrypted to its public half, which the force needs.
if [ ! -f "$R/etc/lfr/keys/van.key" ]; then
  node "$SRC/dist/src/cli/entry.js" keys generate --kind van --out "$R/etc/lfr/keys" --name van >/dev/null
  say "generated the van key; send /etc/lfr/keys/van.pub to the force's watchlist station"
fi
# The van key is the daemon's alone: 0600, owned by the service user (the key loader refuses any
# group or other access, as ssh does). Set on every run, so an older install's 0640 is corrected.
own lfr:lfr "$R/etc/lfr/keys/van.key"
own root:lfr "$R/etc/lfr/keys/van.pub"
chmod 0600 "$R/etc/lfr/keys/van.key"
chmod 0644 "$R/etc/lfr/keys/van.pub"

# 5. TLS from the van's own CA (scripts/make-certs.sh, shared with the tests). The CA stays in
# /etc/lfr/tls (CA key 0600 root). Two leaf certificates for the same names (localhost, 127.0.0.1
# and $LFR_BROKER_HOSTS): the broker's, in mosquitto's own folder because the broker cannot enter
# /etc/lfr; and the tablet page's (src/tablet/server.ts, served by the daemon), so a tablet trusts
# one CA for both. Each is issued once; delete its key to re-issue.
TLS="$R/etc/lfr/tls"
MCERTS="$R/etc/mosquitto/certs"
install -d -m 0755 "$MCERTS"
# issue_leaf DIR NAME GROUP WHAT: make-certs.sh reuses the CA and writes broker.{crt,key}; move
# them to DIR/NAME.{crt,key}, key readable by GROUP only.
issue_leaf() {
  [ -f "$1/$2.key" ] && return 0
  # shellcheck disable=SC2086 # LFR_BROKER_HOSTS is a list of names
  sh "$SRC/scripts/make-certs.sh" "$TLS" localhost 127.0.0.1 ${LFR_BROKER_HOSTS:-} >/dev/null
  mv "$TLS/broker.crt" "$1/$2.crt"
  mv "$TLS/broker.key" "$1/$2.key"
  chmod 0640 "$1/$2.key"; chmod 0644 "$1/$2.crt"
  own "root:$3" "$1/$2.key"
  say "issued the $4 certificate for localhost 127.0.0.1 ${LFR_BROKER_HOSTS:-}"
}
issue_leaf "$MCERTS" lfr-broker mosquitto broker
issue_leaf "$TLS" tablet lfr "tablet page"
install -m 0644 "$TLS/ca.crt" "$MCERTS/lfr-ca.crt"

# 6. Broker users (scripts/mqtt-users.sh): random passwords in /etc/lfr/secrets, the daemon's
# readable by the lfr group. More tablets: scripts/mqtt-users.sh /etc/mosquitto/lfr.passwd tablet-2 FILE.
PASSWD="$R/etc/mosquitto/lfr.passwd"
if [ ! -f "$PASSWD" ]; then
  sh "$SRC/scripts/mqtt-users.sh" "$PASSWD" lfr-daemon "$R/etc/lfr/secrets/mqtt-daemon.pass" lfr-tablet "$R/etc/lfr/secrets/mqtt-tablet.pass"
  chmod 0640 "$PASSWD" "$R/etc/lfr/secrets/mqtt-daemon.pass"
  own root:mosquitto "$PASSWD"
  own root:lfr "$R/etc/lfr/secrets/mqtt-daemon.pass"
  say "created broker users lfr-daemon and lfr-tablet"
fi

# The broker's whole configuration, rendered from the same templates the tests run
# (config/mosquitto/*.template); the mosquitto drop-in starts mosquitto on it.
# Broker listeners bind where the config says tablets are served (tablet.host). mosquitto 2.0.11
# ignores the address on a WebSocket listener and binds every interface: its unit is firewalled
# to loopback and the tablet network instead (mosquitto drop-in, IPAddressAllow, rendered below).
BIND="$(node "$SRC/dist/src/cli/entry.js" -c "$R/etc/lfr/lfr.json" config show 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{process.stdout.write(JSON.parse(s).tablet.host)}catch{process.stdout.write("127.0.0.1")}})')"
case "$BIND" in *[!0-9a-fA-F.:]*|"") BIND=127.0.0.1 ;; esac
TABLET_NET="${LFR_TABLET_NET:-10.0.0.0/8 172.16.0.0/12 192.168.0.0/16}"
render() {
  sed -e 's|@RUN_AS@||' -e 's|@PASSWORD_FILE@|/etc/mosquitto/lfr.passwd|' -e 's|@ACL_FILE@|/etc/mosquitto/lfr.acl|' \
      -e 's|@DATA_DIR@|/var/lib/mosquitto|' -e 's|@LOG_DEST@|stderr|' -e 's|@MQTT_PORT@|8883|' -e 's|@WS_PORT@|8884|' \
      -e "s|@BIND@|$BIND|" -e 's|@CA_FILE@|/etc/mosquitto/certs/lfr-ca.crt|' \
      -e 's|@CERT_FILE@|/etc/mosquitto/certs/lfr-broker.crt|' -e 's|@KEY_FILE@|/etc/mosquitto/certs/lfr-broker.key|' \
      -e 's|@DAEMON_USER@|lfr-daemon|' -e 's|@PREFIX@|lfr|' "$1"
}
install -d -m 0755 "$R/etc/mosquitto"
render "$SRC/config/mosquitto/lfr.conf.template" > "$R/etc/mosquitto/lfr.conf.new" && mv "$R/etc/mosquitto/lfr.conf.new" "$R/etc/mosquitto/lfr.conf"
render "$SRC/config/mosquitto/lfr.acl.template" > "$R/etc/mosquitto/lfr.acl.new" && mv "$R/etc/mosquitto/lfr.acl.new" "$R/etc/mosquitto/lfr.acl"
chmod 0644 "$R/etc/mosquitto/lfr.conf" "$R/etc/mosquitto/lfr.acl"
if grep -q '@[A-Z_]*@' "$R/etc/mosquitto/lfr.conf" "$R/etc/mosquitto/lfr.acl"; then
  echo "install: a broker template variable was left unset" >&2; exit 1
fi

# 7. Units, the mosquitto drop-in and the udev rule.
install -d -m 0755 "$R/etc/systemd/system/mosquitto.service.d" "$R/etc/udev/rules.d"
install -m 0644 "$SRC/systemd/lfr.service" "$R/etc/systemd/system/lfr.service"
install -m 0644 "$SRC/systemd/lfr-usb-import@.service" "$R/etc/systemd/system/lfr-usb-import@.service"
sed -e "s|@TABLET_NET@|$TABLET_NET|" "$SRC/systemd/mosquitto.service.d/lfr.conf" > "$R/etc/systemd/system/mosquitto.service.d/lfr.conf"
chmod 0644 "$R/etc/systemd/system/mosquitto.service.d/lfr.conf"
install -m 0644 "$SRC/systemd/99-lfr-usb.rules" "$R/etc/udev/rules.d/99-lfr-usb.rules"

# 8. Swap would let the kernel page the tmpfs watchlist (and the daemon's memory) out to disk.
# lfr.service has MemorySwapMax=0 and the daemon refuses to analyse where its memory can be
# swapped (lfr health FAILs with the reason); turning swap off covers tmpfs pages too.
if [ "$REAL" = 1 ] && [ -n "$(swapon --show --noheadings 2>/dev/null)" ]; then
  echo "install: WARNING: swap is on. The watchlist lives on tmpfs and could be written to disk through swap." >&2
  echo "install:          Turn it off: swapoff -a, and remove the swap line from /etc/fstab (hardware/README.md)." >&2
fi
# No core files of anything on the box (systemd-coredump would keep the daemon's if it ever
# dumped; the daemon is non-dumpable and LimitCORE=0, this is the belt to those braces), and
# fs.suid_dumpable 0 so that non-dumpable really means no core.
install -d -m 0755 "$R/etc/systemd/coredump.conf.d" "$R/etc/sysctl.d"
printf '[Coredump]\nStorage=none\nProcessSizeMax=0\n' > "$R/etc/systemd/coredump.conf.d/lfr.conf"
printf 'fs.suid_dumpable = 0\n' > "$R/etc/sysctl.d/60-lfr-nocore.conf"
chmod 0644 "$R/etc/systemd/coredump.conf.d/lfr.conf" "$R/etc/sysctl.d/60-lfr-nocore.conf"
[ "$REAL" = 1 ] && sysctl -q -p "$R/etc/sysctl.d/60-lfr-nocore.conf" >/dev/null 2>&1 || true

if [ "$REAL" = 1 ]; then
  systemctl daemon-reload
  udevadm control --reload
  systemctl enable mosquitto.service lfr.service >/dev/null
  systemctl restart mosquitto.service
  say "done. Add the cameras to /etc/lfr/lfr.json and the force key to /etc/lfr/keys/force.pub, then: systemctl start lfr; lfr health"
else
  say "done (under $R; no services touched)"
fi
