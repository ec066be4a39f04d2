#!/usr/bin/env bash
# azd preprovision hook: the database server's Entra admin defaults to the developer running `azd up` (signed in with
# `az login`). Set DATABASE_ADMIN_OBJECT_ID, DATABASE_ADMIN_LOGIN and DATABASE_ADMIN_PRINCIPAL_TYPE
# (User | Group | Application) with `azd env set` to choose another principal, e.g. a group you belong to.
set -euo pipefail

# An environment made before these settings had engine-neutral names keeps its values under the old ones: carry them
# over once, so its chosen admin and closed public endpoint are not silently replaced by the defaults.
for rename in AZURE_SQL_ADMIN_OBJECT_ID:DATABASE_ADMIN_OBJECT_ID AZURE_SQL_ADMIN_LOGIN:DATABASE_ADMIN_LOGIN \
    AZURE_SQL_ADMIN_PRINCIPAL_TYPE:DATABASE_ADMIN_PRINCIPAL_TYPE SQL_PUBLIC_NETWORK_ACCESS:DATABASE_PUBLIC_NETWORK_ACCESS \
    SQL_OPEN_FIREWALL:OPEN_DATABASE_FIREWALL; do
  old="${rename%%:*}" new="${rename#*:}"
  if [[ -n "${!old:-}" && -z "${!new:-}" ]]; then
    azd env set "$new" "${!old}"
    export "$new=${!old}"
    echo "azd environment: $old is now $new (value carried over)"
  fi
done

if [[ -n "${DATABASE_ADMIN_OBJECT_ID:-}" && -n "${DATABASE_ADMIN_LOGIN:-}" ]]; then
  echo "Database Entra admin: $DATABASE_ADMIN_LOGIN ($DATABASE_ADMIN_OBJECT_ID, ${DATABASE_ADMIN_PRINCIPAL_TYPE:-User})"
  exit 0
fi

if ! command -v az >/dev/null; then
  echo "Set the database Entra admin first (the Azure CLI, which would find you, is not installed):" >&2
  echo "  azd env set DATABASE_ADMIN_OBJECT_ID <object id>; azd env set DATABASE_ADMIN_LOGIN <name>" >&2
  exit 1
fi

user="$(az ad signed-in-user show --query '[id, userPrincipalName]' -o tsv)" || {
  echo "Could not read the signed-in user: run 'az login' (same tenant as azd), or set DATABASE_ADMIN_* with azd env set." >&2
  exit 1
}
read -r object_id login <<<"$(echo "$user" | tr '\n' ' ')"
azd env set DATABASE_ADMIN_OBJECT_ID "$object_id"
azd env set DATABASE_ADMIN_LOGIN "$login"
azd env set DATABASE_ADMIN_PRINCIPAL_TYPE User
echo "Database Entra admin: $login ($object_id)"
