#!/bin/sh
# Make the van's local CA and the broker's TLS certificate with openssl.
#   scripts/make-certs.sh OUTDIR [HOSTNAME_OR_IP ...]
# Writes OUTDIR/ca.crt, ca.key (keep offline or delete: only needed to re-issue), broker.crt,
# broker.key (0600). The tablets and the daemon trust ca.crt (config mqtt.caFile). The names
# default to localhost and 127.0.0.1; add the van's Wi-Fi address and host name for tablets.
# EC P-256: accepted by every browser and by mosquitto 2.0, and small on a slow link.
# Validity: CA 10 years, broker certificate 825 days (the most Apple devices accept).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [HOSTNAME_OR_IP ...]" >&2; exit 2; }
OUT=$1; shift
[ $# -ge 1 ] || set -- localhost 127.0.0.1
umask 077
mkdir -p "$OUT"
SAN=""
for n in "$@"; do
  case "$n" in
    *[!0-9.]*) SAN="${SAN:+$SAN,}DNS:$n" ;;
    *) SAN="${SAN:+$SAN,}IP:$n" ;;
  esac
done
if [ ! -f "$OUT/ca.crt" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=lfr van CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$OUT/ca.key" -out "$OUT/ca.crt" 2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
  -keyout "$OUT/broker.key" -out "$OUT/broker.csr" 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$SAN" > "$OUT/broker.ext"
openssl x509 -req -in "$OUT/broker.csr" -CA "$OUT/ca.crt" -CAkey "$OUT/ca.key" -CAcreateserial \
  -days 825 -extfile "$OUT/broker.ext" -out "$OUT/broker.crt" 2>/dev/null
rm -f "$OUT/broker.csr" "$OUT/broker.ext" "$OUT/ca.srl"
chmod 0644 "$OUT/ca.crt" "$OUT/broker.crt"
chmod 0600 "$OUT/ca.key" "$OUT/broker.key"
echo "CA: $OUT/ca.crt  broker: $OUT/broker.crt ($SAN)"
