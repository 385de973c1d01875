#!/bin/sh
# Creates the signing key the two daemons of docker-compose.yml share (a base64 Ed25519 seed),
# once: an existing key is kept, since every event the daemons signed names it.
set -eu
key="$(dirname "$0")/secrets/signing.key"
if [ -s "$key" ]; then
  echo "keeping $key"
  exit 0
fi
# Compose mounts a file secret as it is, and the daemon runs as uid 1000 in its container: the file
# is readable (0644) and the directory around it private (0700), so no other host user reaches it.
mkdir -p "$(dirname "$key")"
chmod 700 "$(dirname "$key")"
head -c 32 /dev/urandom | base64 > "$key"
chmod 644 "$key"
echo "created $key"
