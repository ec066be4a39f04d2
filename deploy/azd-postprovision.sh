#!/usr/bin/env bash
# azd postprovision hook: apply the migrations and grant the app identity its database roles, before azd deploys
# the code. azd exports the Bicep outputs (DATABASE_SERVER_FQDN, DATABASE_NAME, APP_IDENTITY_NAME, ...) as variables.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${OPEN_DATABASE_FIREWALL:-}" ]]; then
  if command -v az >/dev/null && [[ "${DATABASE_PUBLIC_NETWORK_ACCESS:-Enabled}" == "Enabled" ]]; then
    export OPEN_DATABASE_FIREWALL=true
  else
    export OPEN_DATABASE_FIREWALL=false
  fi
fi

deploy/update-database.sh
