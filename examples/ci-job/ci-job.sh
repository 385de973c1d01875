#!/bin/sh
# A CI job calling a protected service: it holds a keyledger API key (a CI secret), exchanges it
# for a short-lived access token, and calls the service with the token, never with the key.
#
#   KEYLEDGER_URL      the daemon
#   KEYLEDGER_API_KEY  the job's service account key (from the CI's secret store)
#   SERVICE_URL        the protected service (the token-service example, say)
# Needs curl and jq.
set -eu
: "${KEYLEDGER_URL:?set KEYLEDGER_URL}" "${KEYLEDGER_API_KEY:?set KEYLEDGER_API_KEY}" "${SERVICE_URL:?set SERVICE_URL}"

# The key goes in a header read from stdin, so that it shows in no process list.
token=$(printf 'Authorization: Bearer %s\n' "$KEYLEDGER_API_KEY" |
  curl --fail --silent --show-error -X POST -H @- "$KEYLEDGER_URL/v1/auth/token" | jq -r .accessToken)

printf 'Authorization: Bearer %s\n' "$token" | curl --fail --silent --show-error -H @- "$SERVICE_URL/"
echo
