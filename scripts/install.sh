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
for part in package.json dist node_modules models bin docs hardware; do
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
  own root:lfr "$R/etc/lfr/keys/van.key" "$R/etc/lfr/keys/van.pub"
  chmod 0640 "$R/etc/lfr/keys/van.key"
  say "generated the van key; send /etc/lfr/keys/van.pub to the force's watchlist station"
fi

# 5. Broker TLS: a CA of this van and a broker certificate for loopback and the tablet LAN.
TLS="$R/etc/lfr/tls"
if [ ! -f "$TLS/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=lfr-edge van CA" -keyout "$TLS/ca.key" -out "$TLS/ca.crt" 2>/dev/null
  chmod 0600 "$TLS/ca.key"; chmod 0644 "$TLS/ca.crt"
  say "created the van CA (give /etc/lfr/tls/ca.crt to the tablets)"
fi
# The broker's own certificate lives in mosquitto's folder (it cannot enter /etc/lfr).
MCERTS="$R/etc/mosquitto/certs"
install -d -m 0755 "$MCERTS"
install -m 0644 "$TLS/ca.crt" "$MCERTS/lfr-ca.crt"
if [ ! -f "$MCERTS/lfr-broker.key" ]; then
  san="DNS:localhost,IP:127.0.0.1"
  for h in ${LFR_BROKER_HOSTS:-}; do
    if [[ "$h" =~ ^[0-9.]+$ ]]; then san="$san,IP:$h"; else san="$san,DNS:$h"; fi
  done
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=lfr-broker" \
    -keyout "$MCERTS/lfr-broker.key" -out "$TLS/broker.csr" 2>/dev/null
  openssl x509 -req -in "$TLS/broker.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
    -days 825 -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san") -out "$MCERTS/lfr-broker.crt" 2>/dev/null
  rm -f "$TLS/broker.csr"
  chmod 0640 "$MCERTS/lfr-broker.key"; chmod 0644 "$MCERTS/lfr-broker.crt"
  own root:mosquitto "$MCERTS/lfr-broker.key"
  say "issued the broker certificate for $san"
fi

# 6. Broker users: random passwords, stored 0640 root:lfr (daemon) and 0600 root (tablet).
gen_pass() { [ -f "$1" ] || { head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$1"; chmod "$2" "$1"; }; }
gen_pass "$R/etc/lfr/secrets/mqtt-daemon.pass" 0640
gen_pass "$R/etc/lfr/secrets/mqtt-tablet.pass" 0600
own root:lfr "$R/etc/lfr/secrets/mqtt-daemon.pass"
install -d -m 0755 "$R/etc/mosquitto/conf.d"
if [ ! -f "$R/etc/mosquitto/lfr.passwd" ]; then
  pw="$R/etc/mosquitto/lfr.passwd"
  : > "$pw"; chmod 0640 "$pw"
  mosquitto_passwd -b "$pw" lfr-daemon "$(cat "$R/etc/lfr/secrets/mqtt-daemon.pass")"
  mosquitto_passwd -b "$pw" lfr-tablet "$(cat "$R/etc/lfr/secrets/mqtt-tablet.pass")"
  own root:mosquitto "$pw"
  say "created broker users lfr-daemon and lfr-tablet"
fi
install -m 0644 "$SRC/systemd/mosquitto/lfr.conf" "$R/etc/mosquitto/conf.d/lfr.conf"
install -m 0644 "$SRC/systemd/mosquitto/lfr.acl" "$R/etc/mosquitto/lfr.acl"

# 7. Units, the mosquitto drop-in and the udev rule.
install -d -m 0755 "$R/etc/systemd/system/mosquitto.service.d" "$R/etc/udev/rules.d"
install -m 0644 "$SRC/systemd/lfr.service" "$R/etc/systemd/system/lfr.service"
install -m 0644 "$SRC/systemd/lfr-usb-import@.service" "$R/etc/systemd/system/lfr-usb-import@.service"
install -m 0644 "$SRC/systemd/mosquitto.service.d/lfr.conf" "$R/etc/systemd/system/mosquitto.service.d/lfr.conf"
install -m 0644 "$SRC/systemd/99-lfr-usb.rules" "$R/etc/udev/rules.d/99-lfr-usb.rules"

# 8. Swap would let the kernel page the tmpfs watchlist out to disk.
if [ "$REAL" = 1 ] && [ -n "$(swapon --show --noheadings 2>/dev/null)" ]; then
  echo "install: WARNING: swap is on. The watchlist lives on tmpfs and could be written to disk through swap." >&2
  echo "install:          Turn it off: swapoff -a, and remove the swap line from /etc/fstab (hardware/README.md)." >&2
fi

if [ "$REAL" = 1 ]; then
  systemctl daemon-reload
  udevadm control --reload
  systemctl enable mosquitto.service lfr.service >/dev/null
  systemctl restart mosquitto.service
  say "done. Add the cameras to /etc/lfr/lfr.json and the force key to /etc/lfr/keys/force.pub, then: systemctl start lfr; lfr health"
else
  say "done (under $R; no services touched)"
fi
