#!/bin/sh
# Create or update broker users in a mosquitto password file (hashed by mosquitto_passwd,
# PBKDF2-SHA512). Passwords are read from 0600 files, never from the command line (which other
# users can see in ps):
#   scripts/mqtt-users.sh PASSWD_FILE USER PASSWORD_FILE [USER PASSWORD_FILE ...]
# A PASSWORD_FILE that does not exist is created with 32 random characters (0600).
# Conventions: the daemon is `lfr-daemon` (config mqtt.username, mqtt.passwordFile); each tablet
# or officer team gets its own user (e.g. `tablet-1`) so one lost tablet is revoked alone with
#   mosquitto_passwd -D PASSWD_FILE tablet-1   (then reload mosquitto: systemctl reload mosquitto)
set -eu
[ $# -ge 3 ] && [ $(( ($# - 1) % 2 )) -eq 0 ] || { echo "usage: $0 PASSWD_FILE USER PASSWORD_FILE [USER PASSWORD_FILE ...]" >&2; exit 2; }
PW=$1; shift
umask 077
[ -f "$PW" ] || : > "$PW"
while [ $# -ge 2 ]; do
  user=$1; pfile=$2; shift 2
  case "$user" in *[!A-Za-z0-9._-]*|'') echo "bad user name: $user" >&2; exit 2 ;; esac
  if [ ! -f "$pfile" ]; then
    head -c 24 /dev/urandom | base64 | tr -d '\n/+=' > "$pfile"
    chmod 0600 "$pfile"
  fi
  # mosquitto_passwd -b takes the password as an argument; it runs for a few ms only, and this
  # script is run by root at install time, not on a shared machine.
  mosquitto_passwd -b "$PW" "$user" "$(cat "$pfile")"
done
chmod 0600 "$PW"
