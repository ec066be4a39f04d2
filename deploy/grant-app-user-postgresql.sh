#!/usr/bin/env bash
# Makes the app's managed identity a PostgreSQL role with row rights on the Users database (rerunnable): the PostgreSQL
# counterpart of deploy/grant-app-user-azuresql.sh. Runs deploy/postgresql/create-app-role.sql in the "postgres"
# database, then deploy/postgresql/grant-app-user.sql in the Users database, with psql, as the server's Entra admin: the
# password is an Entra access token (`az account get-access-token --resource-type oss-rdbms`: the pipeline's federated
# identity after azure/login, or `az login` locally) unless PGPASSWORD is already set.
#
#   deploy/grant-app-user-postgresql.sh <server-fqdn> <database> <app-identity-name> <app-identity-object-id> <admin-login>
#   (or DATABASE_SERVER_FQDN, DATABASE_NAME, APP_IDENTITY_NAME, APP_IDENTITY_PRINCIPAL_ID: the Bicep outputs, and
#   DATABASE_ADMIN_LOGIN: the admin's name as the Bicep parameter databaseAdminLogin had it)
#
# psql: `apt-get install postgresql-client`, `brew install libpq`, or the PostgreSQL installer on Windows.
# libpq's environment applies: PGPORT, PGSSLMODE (default here: require), POSTGRES_MAINTENANCE_DATABASE (default postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

server="${1:-${DATABASE_SERVER_FQDN:?server FQDN (argument 1 or DATABASE_SERVER_FQDN)}}"
database="${2:-${DATABASE_NAME:?database name (argument 2 or DATABASE_NAME)}}"
identity="${3:-${APP_IDENTITY_NAME:?app identity name (argument 3 or APP_IDENTITY_NAME)}}"
object_id="${4:-${APP_IDENTITY_PRINCIPAL_ID:?app identity object id (argument 4 or APP_IDENTITY_PRINCIPAL_ID)}}"
admin="${5:-${DATABASE_ADMIN_LOGIN:?admin login (argument 5 or DATABASE_ADMIN_LOGIN)}}"

# Identity names are [A-Za-z0-9_-] and object ids GUIDs; refuse anything else rather than quote it.
if [[ ! "$identity" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{2,62}$ ]]; then
  echo "Unexpected identity name: $identity" >&2
  exit 2
fi
if [[ ! "$object_id" =~ ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$ ]]; then
  echo "Unexpected object id: $object_id" >&2
  exit 2
fi

if ! command -v psql >/dev/null; then
  echo "psql is needed: apt-get install postgresql-client (or brew install libpq)" >&2
  exit 1
fi

if [[ -z "${PGPASSWORD:-}" ]]; then
  PGPASSWORD="$(az account get-access-token --resource-type oss-rdbms --query accessToken -o tsv)"
  export PGPASSWORD
fi
export PGSSLMODE="${PGSSLMODE:-require}"

echo "Making [$identity] a role with row rights on $server/$database"
psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 \
  --host "$server" --dbname "${POSTGRES_MAINTENANCE_DATABASE:-postgres}" --username "$admin" \
  --set app_role="$identity" --set app_object_id="$object_id" \
  --file deploy/postgresql/create-app-role.sql
psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 \
  --host "$server" --dbname "$database" --username "$admin" \
  --set app_role="$identity" \
  --file deploy/postgresql/grant-app-user.sql
