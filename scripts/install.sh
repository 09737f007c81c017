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
#   LFR_BROKER_HOSTS    extra names/IPs for the broker's and the tablet page's certificates on a first
#                       install, e.g. "10.20.0.1 van7.local" (later: config broker.hosts, lfr broker setup)
#   LFR_SEAL_KEY       how the van key is sealed: auto (default), host, tpm2, no (step 4)
#   LFR_TABLET_NET      networks tablets connect from (the van Wi-Fi), e.g. "10.20.0.0/24", written
#                       to tablet.subnets on a first install; lfr.service then talks to these,
#                       loopback and the cameras' addresses only (the broker's unit: loopback only)
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
  "broker": { "hosts": [] },
  "cameras": []
}
JSON
  # The van's Wi-Fi names for the certificates (broker and tablet page).
  if [ -n "${LFR_BROKER_HOSTS:-}" ]; then
    node -e '
      const fs = require("fs"); const f = process.argv[1];
      const c = JSON.parse(fs.readFileSync(f, "utf8")); c.broker.hosts = process.argv.slice(2);
      fs.writeFileSync(f, JSON.stringify(c, null, 2) + "\n");
    ' "$R/etc/lfr/lfr.json" ${LFR_BROKER_HOSTS}
  fi
  # The networks tablets connect from: lfr.service talks to these, loopback and the cameras only.
  if [ -n "${LFR_TABLET_NET:-}" ]; then
    node -e '
      const fs = require("fs"); const f = process.argv[1];
      const c = JSON.parse(fs.readFileSync(f, "utf8")); c.tablet = { ...(c.tablet ?? {}), subnets: process.argv.slice(2) };
      fs.writeFileSync(f, JSON.stringify(c, null, 2) + "\n");
    ' "$R/etc/lfr/lfr.json" ${LFR_TABLET_NET}
  fi
  chmod 0640 "$R/etc/lfr/lfr.json"
  own root:lfr "$R/etc/lfr/lfr.json"
  say "wrote a starting config /etc/lfr/lfr.json: add the cameras and the van id"
fi

# 4. Van key pair (X25519): bundles are encrypted to its public half, which the force needs.
# The private half is sealed to this box as a systemd credential (issue 21): `systemd-creds
# encrypt` under the TPM2 and the host key where the box has a TPM2, the host key
# (/var/lib/systemd/credential.secret) otherwise. lfr.service has systemd decrypt it into the
# daemon's private credentials folder (LoadCredentialEncrypted=); a copy of van.key.cred opens on
# no other box. An existing plain van.key is converted, proved to open, then overwritten and removed.
#   LFR_SEAL_KEY=auto (default: tpm2+host if `systemd-creds has-tpm2`, else host) | host | tpm2 | no
#   (a test points SYSTEMD_CREDENTIAL_SECRET at its own host key file: systemd-creds honours it)
KEYS="$R/etc/lfr/keys"
# Under LFR_ROOT (tests) nothing is sealed unless asked: sealing uses the box's own host key.
if [ "$REAL" = 1 ]; then SEAL="${LFR_SEAL_KEY:-auto}"; else SEAL="${LFR_SEAL_KEY:-no}"; fi
SEALED_NOW=0
if [ ! -f "$KEYS/van.key" ] && [ ! -f "$KEYS/van.key.cred" ]; then
  # Generated in RAM when it will be sealed, so the plain key never reaches the disk.
  GEN="$KEYS"
  if [ "$SEAL" != no ] && [ -d /dev/shm ]; then GEN="$(mktemp -d /dev/shm/lfr-key.XXXXXX)"; fi
  node "$SRC/dist/src/cli/entry.js" keys generate --kind van --out "$GEN" --name van >/dev/null
  if [ "$GEN" != "$KEYS" ]; then install -m 0644 "$GEN/van.pub" "$KEYS/van.pub"; PLAIN="$GEN/van.key"; else PLAIN="$KEYS/van.key"; fi
  say "generated the van key; send /etc/lfr/keys/van.pub to the force's watchlist station"
else
  PLAIN="$KEYS/van.key"
fi
seal_key() {
  local with="$SEAL" creds
  creds="$(command -v systemd-creds || true)"
  if [ -z "$creds" ]; then echo "install: WARNING: systemd-creds not found: the van key stays a plain file (lfr health WARNs)" >&2; return 1; fi
  if [ "$with" = auto ]; then with=host; systemd-creds has-tpm2 >/dev/null 2>&1 && with=host+tpm2; fi
  rm -f "$KEYS/van.key.cred.new"
  systemd-creds encrypt --name=lfr-van-key --with-key="$with" "$PLAIN" "$KEYS/van.key.cred.new" 2>/dev/null \
    || { echo "install: WARNING: sealing the van key failed (systemd-creds encrypt --with-key=$with): it stays a plain file" >&2; rm -f "$KEYS/van.key.cred.new"; return 1; }
  # Prove the sealed copy opens to the same key before the plain one goes.
  if ! systemd-creds decrypt --name=lfr-van-key "$KEYS/van.key.cred.new" - 2>/dev/null | cmp -s - "$PLAIN"; then
    echo "install: ERROR: the sealed van key does not decrypt to the plain one; nothing removed" >&2; rm -f "$KEYS/van.key.cred.new"; exit 1
  fi
  mv "$KEYS/van.key.cred.new" "$KEYS/van.key.cred"
  say "sealed the van key to this box (systemd credential, $with): /etc/lfr/keys/van.key.cred"
  SEALED_NOW=1
}
if [ -f "$PLAIN" ]; then
  if [ -f "$KEYS/van.key.cred" ]; then
    # Both: keep the sealed one if it opens here, and remove the plain copy.
    systemd-creds decrypt --name=lfr-van-key "$KEYS/van.key.cred" - 2>/dev/null | cmp -s - "$PLAIN" \
      || { echo "install: ERROR: $KEYS/van.key.cred does not open to $PLAIN on this box; resolve by hand (docs/operations.md)" >&2; exit 1; }
    SEALED_NOW=1
  elif [ "$SEAL" != no ]; then
    seal_key || true
  fi
fi
if [ "$SEALED_NOW" = 1 ]; then
  # Overwritten before unlinking (a journalling FS or an SSD may keep old blocks: hardware/README.md
  # says why the box's disk is encrypted as well).
  shred -u -z -n 1 "$PLAIN" 2>/dev/null || { head -c "$(stat -c %s "$PLAIN")" /dev/zero > "$PLAIN"; sync; rm -f "$PLAIN"; }
  if [ "$(dirname "$PLAIN")" != "$KEYS" ]; then rm -rf "$(dirname "$PLAIN")"; fi
  say "removed the plain van key"
elif [ "$PLAIN" != "$KEYS/van.key" ] && [ -f "$PLAIN" ]; then
  # Generated in RAM but not sealed: it goes where the config says, plain.
  install -m 0600 "$PLAIN" "$KEYS/van.key"; shred -u "$PLAIN" 2>/dev/null || rm -f "$PLAIN"; rm -rf "$(dirname "$PLAIN")"
fi
# A plain van key is the daemon's alone: 0600, owned by the service user (the key loader refuses
# any group or other access, as ssh does). The sealed one is root's: systemd decrypts it for the
# daemon; the lfr group may read the (encrypted) file so health can tell which seal is in force.
if [ -f "$KEYS/van.key" ]; then own lfr:lfr "$KEYS/van.key"; chmod 0600 "$KEYS/van.key"; fi
if [ -f "$KEYS/van.key.cred" ]; then own root:lfr "$KEYS/van.key.cred"; chmod 0640 "$KEYS/van.key.cred"; fi
own root:lfr "$KEYS/van.pub"
chmod 0644 "$KEYS/van.pub"

# 5. The broker: its whole configuration, the van CA, the broker's and the tablet page's
# certificates, the daemon's broker account (random password in /etc/lfr/secrets) and the
# officers' accounts file, written by `lfr broker setup` (src/mqtt/broker-setup.ts) where the
# config says, with the owners and modes mosquitto needs. The tests and the demo run the same
# code. Idempotent: the CA, certificates still valid for every name, and passwords are kept.
# Officers get their accounts later, one each: `lfr officers add PC1234` (docs/tablet.md).
SETUP_CFG="$R/etc/lfr/lfr.json"
if [ -n "$R" ]; then
  # Under LFR_ROOT the config's absolute paths are re-rooted for the set-up only.
  SETUP_CFG="$R/etc/lfr/.broker-setup.json"
  node -e '
    const [cfgFile, root, out] = process.argv.slice(1);
    const fs = require("fs");
    const c = JSON.parse(fs.readFileSync(cfgFile, "utf8"));
    const re = (p, d) => root + (p ?? d);
    c.mqtt = { ...c.mqtt, caFile: re(c.mqtt?.caFile, "/etc/lfr/tls/ca.crt"), passwordFile: re(c.mqtt?.passwordFile, "/etc/lfr/secrets/mqtt-daemon.pass") };
    c.broker = { ...c.broker, confFile: re(c.broker?.confFile, "/etc/mosquitto/lfr.conf"), dir: re(c.broker?.dir, "/etc/mosquitto/lfr"), pidFile: re(c.broker?.pidFile, "/run/mosquitto/mosquitto.pid") };
    c.tablet = { ...c.tablet, certFile: re(c.tablet?.certFile, "/etc/lfr/tls/tablet.crt"), keyFile: re(c.tablet?.keyFile, "/etc/lfr/tls/tablet.key") };
    c.paths = { ...c.paths, stateDir: re(c.paths?.stateDir, "/var/lib/lfr"), runtimeDir: re(c.paths?.runtimeDir, "/run/lfr") };
    fs.writeFileSync(out, JSON.stringify(c), { mode: 0o600 });
  ' "$R/etc/lfr/lfr.json" "$R" "$SETUP_CFG"
fi
# The broker's unit is firewalled to loopback and the tablet network (mosquitto 2.0.11 ignores the
# address of a WebSocket listener and binds every interface; systemd/mosquitto.service.d/lfr.conf,
# IPAddressAllow, rendered below). The listeners bind where the config says (broker.mqttBind,
# broker.wsBind).
install -d -m 0755 "$R/etc/mosquitto"
if ! node "$SRC/dist/src/cli/entry.js" -c "$SETUP_CFG" broker setup --json > "$R/etc/lfr/.broker-setup.out"; then
  echo "install: the broker set-up failed (see above)" >&2; exit 1
fi
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").pop());
  for (const f of r.created) console.log(`install: created ${f.slice(process.argv[2].length)}`);
  console.log(`install: broker config ${r.confFile.slice(process.argv[2].length)}; certificate names: ${r.names.join(" ")}; officers: ${r.officers.length}`);
  for (const w of r.warnings ?? []) console.log(`install: WARNING: ${w}`);
' "$R/etc/lfr/.broker-setup.out" "$R"
rm -f "$R/etc/lfr/.broker-setup.out" "$R/etc/lfr/.broker-setup.json"

# 7. Units, the mosquitto drop-in and the udev rule.
install -d -m 0755 "$R/etc/systemd/system/mosquitto.service.d" "$R/etc/udev/rules.d"
# lfr.service as rendered for this van: IPAddressAllow= from the config (tablet.subnets and the
# cameras' addresses, src/config/network.ts; run install.sh again after changing either), and no
# LoadCredentialEncrypted= while the key is still a plain file (LFR_SEAL_KEY=no, no systemd-creds).
ALLOW="$(node --input-type=module -e '
  const [dist, cfg] = process.argv.slice(1);
  const { loadConfigFile } = await import(dist + "/src/config/load.js");
  const { unitAllowList } = await import(dist + "/src/config/network.js");
  const r = unitAllowList(loadConfigFile(cfg));
  for (const w of r.warnings) process.stderr.write(`install: WARNING: ${w}\n`);
  console.log(r.allow.join(" "));
' "$SRC/dist" "$R/etc/lfr/lfr.json")"
sed -e "s|^IPAddressAllow=.*|IPAddressAllow=$ALLOW|" "$SRC/systemd/lfr.service" > "$R/etc/systemd/system/lfr.service.new"
if [ ! -f "$KEYS/van.key.cred" ]; then sed -i '/^LoadCredentialEncrypted=lfr-van-key:/d' "$R/etc/systemd/system/lfr.service.new"; fi
chmod 0644 "$R/etc/systemd/system/lfr.service.new"
mv "$R/etc/systemd/system/lfr.service.new" "$R/etc/systemd/system/lfr.service"
install -m 0644 "$SRC/systemd/lfr-usb-import@.service" "$R/etc/systemd/system/lfr-usb-import@.service"
install -m 0644 "$SRC/systemd/mosquitto.service.d/lfr.conf" "$R/etc/systemd/system/mosquitto.service.d/lfr.conf"
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
