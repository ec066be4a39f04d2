#!/usr/bin/env bash
# The database half of a deployment, run by the deployment principal (the database server's Entra admin) before the new
# code goes live: apply pending migrations with the provider's bundle, then make sure the app's identity has exactly
# row rights (Azure SQL: db_datareader + db_datawriter; PostgreSQL: SELECT/INSERT/UPDATE/DELETE). Used by `azd up`
# (postprovision hook) and by .github/workflows/deploy.yml.
#
#   DATABASE_ENGINE         AzureSql (default) or PostgreSql                                           (Bicep output)
#   DATABASE_SERVER_NAME, DATABASE_SERVER_FQDN, DATABASE_NAME, APP_IDENTITY_NAME, AZURE_RESOURCE_GROUP (Bicep outputs)
#   APP_IDENTITY_PRINCIPAL_ID, and DATABASE_ADMIN_LOGIN                                            (PostgreSQL only)
#   EFBUNDLE                an already built bundle for that engine (default: deploy/build-migrations-bundle.sh builds one)
#   OPEN_DATABASE_FIREWALL  true (default): when the server's public endpoint is on, add a firewall rule for this
#                           machine's public IP for the duration of the script (needs `az`), removed on exit
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DATABASE_SERVER_FQDN:?}" "${DATABASE_NAME:?}" "${APP_IDENTITY_NAME:?}"
engine="${DATABASE_ENGINE:-AzureSql}"
case "$engine" in
  AzureSql) bundle_provider=sqlserver ;;
  PostgreSql) bundle_provider=postgresql ;;
  *) echo "Unknown DATABASE_ENGINE: $engine (AzureSql or PostgreSql)" >&2; exit 2 ;;
esac

bundle="${EFBUNDLE:-}"
if [[ -z "$bundle" ]]; then
  bundle="artifacts/efbundle-$bundle_provider"
  deploy/build-migrations-bundle.sh "$bundle_provider" "$bundle"
fi

rule=""
close_firewall() {
  if [[ -n "$rule" ]]; then
    if [[ "$engine" == PostgreSql ]]; then
      az postgres flexible-server firewall-rule delete -g "$AZURE_RESOURCE_GROUP" -n "$DATABASE_SERVER_NAME" -r "$rule" --yes --output none || true
    else
      az sql server firewall-rule delete -g "$AZURE_RESOURCE_GROUP" -s "$DATABASE_SERVER_NAME" -n "$rule" --output none || true
    fi
  fi
}
trap close_firewall EXIT

if [[ "${OPEN_DATABASE_FIREWALL:-true}" == "true" ]]; then
  : "${DATABASE_SERVER_NAME:?}" "${AZURE_RESOURCE_GROUP:?}"
  ip="$(curl -fsS --max-time 10 https://api.ipify.org)"
  if [[ "$ip" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    rule="deploy-$(date -u +%Y%m%d%H%M%S)-$$"
    echo "Opening the database firewall for this machine ($ip) until the script ends"
    # One address, never a range.
    if [[ "$engine" == PostgreSql ]]; then
      az postgres flexible-server firewall-rule create -g "$AZURE_RESOURCE_GROUP" -n "$DATABASE_SERVER_NAME" -r "$rule" \
        --start-ip-address "$ip" --end-ip-address "$ip" --output none
    else
      az sql server firewall-rule create -g "$AZURE_RESOURCE_GROUP" -s "$DATABASE_SERVER_NAME" -n "$rule" \
        --start-ip-address "$ip" --end-ip-address "$ip" --output none
    fi
  else
    echo "Could not determine this machine's public IP; relying on existing firewall rules" >&2
  fi
fi

if [[ "$engine" == PostgreSql ]]; then
  admin="${DATABASE_ADMIN_LOGIN:?name of the Entra admin: DATABASE_ADMIN_LOGIN}"
  # Entra only: the password is an access token, read by Npgsql (the bundle) and psql (the grant) from PGPASSWORD, so
  # it never appears on a command line. Tokens last an hour or more: enough for both steps.
  if [[ -z "${PGPASSWORD:-}" ]]; then
    PGPASSWORD="$(az account get-access-token --resource-type oss-rdbms --query accessToken -o tsv)"
    export PGPASSWORD
  fi
  connection="Host=$DATABASE_SERVER_FQDN;Database=$DATABASE_NAME;Username=$admin;SSL Mode=VerifyFull"
else
  connection="Server=tcp:$DATABASE_SERVER_FQDN,1433;Database=$DATABASE_NAME;Encrypt=True;Authentication=Active Directory Default"
fi

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

if [[ "$engine" == PostgreSql ]]; then
  deploy/grant-app-user-postgresql.sh "$DATABASE_SERVER_FQDN" "$DATABASE_NAME" "$APP_IDENTITY_NAME" \
    "${APP_IDENTITY_PRINCIPAL_ID:?}" "$admin"
else
  deploy/grant-app-user-azuresql.sh "$DATABASE_SERVER_FQDN" "$DATABASE_NAME" "$APP_IDENTITY_NAME"
fi
