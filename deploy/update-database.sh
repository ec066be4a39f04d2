#!/usr/bin/env bash
# The database half of a deployment, run by the deployment principal (the SQL server's Entra admin) before the new
# code goes live: apply pending migrations with the SQL Server bundle, then make sure the app's identity has
# exactly db_datareader + db_datawriter. Used by `azd up` (postprovision hook) and by .github/workflows/deploy.yml.
#
#   SQL_SERVER_NAME, SQL_SERVER_FQDN, SQL_DATABASE_NAME, APP_IDENTITY_NAME, AZURE_RESOURCE_GROUP   (Bicep outputs)
#   EFBUNDLE            an already built bundle (default: build one with deploy/build-migrations-bundle.sh)
#   SQL_OPEN_FIREWALL   true (default): when the server's public endpoint is on, add a firewall rule for this
#                       machine's public IP for the duration of the script (needs `az`), removed on exit
set -euo pipefail
cd "$(dirname "$0")/.."

: "${SQL_SERVER_FQDN:?}" "${SQL_DATABASE_NAME:?}" "${APP_IDENTITY_NAME:?}"

bundle="${EFBUNDLE:-}"
if [[ -z "$bundle" ]]; then
  bundle=artifacts/efbundle-sqlserver
  deploy/build-migrations-bundle.sh sqlserver "$bundle"
fi

rule=""
close_firewall() {
  if [[ -n "$rule" ]]; then
    az sql server firewall-rule delete -g "$AZURE_RESOURCE_GROUP" -s "$SQL_SERVER_NAME" -n "$rule" --output none || true
  fi
}
trap close_firewall EXIT

if [[ "${SQL_OPEN_FIREWALL:-true}" == "true" ]]; then
  : "${SQL_SERVER_NAME:?}" "${AZURE_RESOURCE_GROUP:?}"
  ip="$(curl -fsS --max-time 10 https://api.ipify.org)"
  if [[ "$ip" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    rule="deploy-$(date -u +%Y%m%d%H%M%S)-$$"
    echo "Opening the SQL firewall for this machine ($ip) until the script ends"
    # One address, never a range.
    az sql server firewall-rule create -g "$AZURE_RESOURCE_GROUP" -s "$SQL_SERVER_NAME" -n "$rule" \
      --start-ip-address "$ip" --end-ip-address "$ip" --output none
  else
    echo "Could not determine this machine's public IP; relying on existing firewall rules" >&2
  fi
fi

connection="Server=tcp:$SQL_SERVER_FQDN,1433;Database=$SQL_DATABASE_NAME;Encrypt=True;Authentication=Active Directory Default"

# A fresh rule can take a moment to apply, and a paused serverless database takes up to a minute to resume.
for attempt in 1 2 3 4 5; do
  if "$bundle" --connection "$connection"; then
    break
  fi
  if [[ $attempt -eq 5 ]]; then
    echo "Migration bundle failed." >&2
    exit 1
  fi
  echo "Migration bundle failed (attempt $attempt); retrying in 20 s" >&2
  sleep 20
done

deploy/grant-app-user.sh "$SQL_SERVER_FQDN" "$SQL_DATABASE_NAME" "$APP_IDENTITY_NAME"
