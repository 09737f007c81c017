#!/bin/sh
# Render the van's broker config from config/mosquitto/*.template (the same files the tests run).
#   scripts/mqtt-broker.sh OUT_CONF OUT_ACL [PREFIX] [DAEMON_USER]
# Paths follow the van install: /etc/mosquitto/lfr.passwd (scripts/mqtt-users.sh),
# /etc/lfr/tls/{ca,broker}.{crt,key} (scripts/make-certs.sh), /var/lib/mosquitto.
# Ports 8883 (MQTT/TLS) and 8884 (WebSocket/TLS) on all interfaces (the tablets are on the van Wi-Fi).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OUT_CONF OUT_ACL [PREFIX] [DAEMON_USER]" >&2; exit 2; }
SRC=$(cd "$(dirname "$0")/../config/mosquitto" && pwd)
PREFIX=${3:-lfr}
DAEMON=${4:-lfr-daemon}
TLS=${LFR_TLS_DIR:-/etc/lfr/tls}
sed -e "s|@RUN_AS@||" -e "s|@PASSWORD_FILE@|/etc/mosquitto/lfr.passwd|" -e "s|@ACL_FILE@|$(dirname "$2")/$(basename "$2")|" \
    -e "s|@DATA_DIR@|/var/lib/mosquitto|" -e "s|@LOG_DEST@|syslog|" -e "s|@MQTT_PORT@|8883|" -e "s|@WS_PORT@|8884|" \
    -e "s| @BIND@||" -e "s|@CA_FILE@|$TLS/ca.crt|" -e "s|@CERT_FILE@|$TLS/broker.crt|" -e "s|@KEY_FILE@|$TLS/broker.key|" \
    "$SRC/lfr.conf.template" > "$1"
sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@DAEMON_USER@|$DAEMON|g" "$SRC/lfr.acl.template" > "$2"
if grep -n '@[A-Z_]*@' "$1" "$2" | grep -v '^[^:]*:[0-9]*:#'; then echo "unrendered placeholder" >&2; exit 1; fi
echo "wrote $1 and $2"
