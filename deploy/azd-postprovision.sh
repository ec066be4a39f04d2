#!/usr/bin/env bash
# azd postprovision hook: apply the migrations and grant the app identity its database roles, before azd deploys
# the code. azd exports the Bicep outputs (SQL_SERVER_FQDN, SQL_DATABASE_NAME, APP_IDENTITY_NAME, ...) as variables.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${SQL_OPEN_FIREWALL:-}" ]]; then
  if command -v az >/dev/null && [[ "${SQL_PUBLIC_NETWORK_ACCESS:-Enabled}" == "Enabled" ]]; then
    export SQL_OPEN_FIREWALL=true
  else
    export SQL_OPEN_FIREWALL=false
  fi
fi

deploy/update-database.sh
