#!/usr/bin/env bash
# Installs everything lfr-edge needs on a fresh Debian 12 machine (run as root from the repo root):
# Debian packages (GStreamer, mosquitto, the RTSP test server, Chromium for the tablet tests),
# npm dependencies (native addons built from source), the TypeScript build, and the default models
# copied out of node_modules with their SHA-256 checked against models/manifest.json.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # build of the native addons (gstreamer-superficial, better-sqlite3)
  build-essential python3 pkg-config libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  # camera ingest: RTSP source, H.264/H.265 parsers and decoders, scaling/colour conversion
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp
  # the RTSP server used by the demo and the tests (run with /usr/bin/python3)
  python3-gi gir1.2-gst-rtsp-server-1.0
  # the van's MQTT broker, and openssl for its local CA
  mosquitto mosquitto-clients openssl
  # systemd-analyze: the unit files are verified and security-scored by the tests
  systemd
  # tests that need another date (a bundle built "3 days ago" at the station)
  faketime
  # tablet client tests in a real browser
  chromium
  # HQ's store (src/hq/): the fleet tests and `lfr bench fleet` start their own cluster with
  # initdb/pg_ctl from /usr/lib/postgresql/15/bin in a temp folder
  postgresql
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # With recommends: Chromium needs its fonts to render the tablet page as the tests expect.
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The Debian mosquitto package starts a system broker on 1883; the product and tests run their own.
systemctl disable --now mosquitto >/dev/null 2>&1 || true
# Likewise the package's own PostgreSQL cluster: HQ runs against the force's server, tests their own.
systemctl disable --now postgresql >/dev/null 2>&1 || true

# onnxruntime-node's postinstall (CUDA download) is denied in package.json allowScripts; the
# environment variable makes it a no-op too if someone approves it. See hardware/README.md.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-fund --no-audit --loglevel=error
fi
npm run --silent build
node scripts/prepare-models.mjs
echo "setup: ready"
