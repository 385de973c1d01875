#!/bin/sh
# Kept for its old name: every secret of docker-compose.yml (the signing key among them) is now made
# by make-secrets.sh.
set -eu
exec "$(dirname "$0")/make-secrets.sh" "$@"
