#!/bin/sh
# Creates the secrets of docker-compose.yml, once each (an existing file is kept):
#   signing.key                      the signing key the two daemons share (a base64 Ed25519 seed)
#   keyledger-1.nk, keyledger-2.nk   each daemon's NATS NKey seed
#   revocation-reader.nk             an NKey seed for services that only follow the revocation feed
#   nats-users.conf                  the NATS users (public NKeys) and their permissions, from the seeds
#   nats-routes.conf                 the NATS cluster's route credentials
# into deploy/secrets/, or into the directory given as $1 or KEYLEDGER_SECRETS_DIR.
set -eu
here="$(dirname "$0")"
dir="${1:-${KEYLEDGER_SECRETS_DIR:-$here/secrets}}"
command -v node >/dev/null 2>&1 || {
  echo "make-secrets.sh needs node (18 or newer); see docs/deployment.md to run it in a container" >&2
  exit 1
}
# Compose mounts a file secret as it is, and the daemon runs as uid 1000 in its container: the files
# are readable (0644) and the directory around them private (0700), so no other host user reaches them.
mkdir -p "$dir"
chmod 700 "$dir"
key="$dir/signing.key"
if [ -s "$key" ]; then
  echo "keeping $key"
else
  (umask 022 && head -c 32 /dev/urandom | base64 > "$key")
  chmod 644 "$key"
  echo "created $key"
fi
node "$here/nats-identities.mjs" "$dir"
