#!/usr/bin/env bash
# azd preprovision hook for Entra ID mode (AUTH_MODE=EntraId; docs/auth.md): creates or updates the API's app
# registration with the Azure CLI, then sets AUTH_AUDIENCE (its application id) for infra/main.parameters.json.
# Rerunnable: it finds the registration by AUTH_AUDIENCE or by its display name, and keeps the ids of existing roles.
#   identifier URI  api://<application id>
#   app roles       Users.Read (get, list), Users.ReadWrite (everything); users, groups and applications may hold them
#   access tokens   v2 (requestedAccessTokenVersion 2): aud is the application id, iss the tenant's v2.0 issuer
#   a delegated scope user_impersonation, pre-authorized for the Azure CLI, so users can get a token with az
#   its service principal, with assignment required: only callers holding a role get a token at all
# In function-key mode (the default) it does nothing.
set -euo pipefail

mode="${AUTH_MODE:-FunctionKeys}"
if [[ "$mode" != "EntraId" ]]; then
  echo "AUTH_MODE is $mode: no app registration needed."
  exit 0
fi

if ! command -v az >/dev/null; then
  echo "AUTH_MODE=EntraId needs the Azure CLI (az) to create the app registration, or set AUTH_AUDIENCE to an existing one's application id and run this again with az." >&2
  exit 1
fi

name="${AUTH_APP_NAME:-user-functions-api-${AZURE_ENV_NAME:-local}}"
app_id="${AUTH_AUDIENCE:-}"
if [[ -z "$app_id" ]]; then
  app_id="$(az ad app list --display-name "$name" --query '[0].appId' -o tsv)"
fi
if [[ -z "$app_id" ]]; then
  app_id="$(az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --query appId -o tsv)"
  echo "Created the app registration $name ($app_id)."
else
  echo "Updating the app registration $app_id."
fi
object_id="$(az ad app show --id "$app_id" --query id -o tsv)"

new_id() { cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen | tr '[:upper:]' '[:lower:]'; }

# A role keeps its id across runs: Entra ID refuses to drop or re-create a role that is enabled.
role_id() {
  local id
  id="$(az ad app show --id "$app_id" --query "appRoles[?value=='$1'].id | [0]" -o tsv)"
  if [[ -n "$id" ]]; then echo "$id"; else new_id; fi
}

role() {
  printf '{"allowedMemberTypes":["User","Application"],"id":"%s","value":"%s","displayName":"%s","description":"%s","isEnabled":true}' \
    "$(role_id "$1")" "$1" "$2" "$3"
}

# The API checks app roles only. The one delegated scope exists so that the Azure CLI, pre-authorized for it, can get a
# user a token for the API (az account get-access-token --resource api://<application id>) without a consent prompt.
azure_cli_app_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46
scope_id="$(az ad app show --id "$app_id" --query "api.oauth2PermissionScopes[?value=='user_impersonation'].id | [0]" -o tsv)"
[[ -n "$scope_id" ]] || scope_id="$(new_id)"
scope="$(printf '{"id":"%s","value":"user_impersonation","type":"User","isEnabled":true,"adminConsentDisplayName":"Call the Users API","adminConsentDescription":"Call the Users API as the signed-in user; what the user may do is decided by the app roles assigned to them.","userConsentDisplayName":"Call the Users API","userConsentDescription":"Call the Users API as you."}' "$scope_id")"

body="$(mktemp)"
trap 'rm -f "$body"' EXIT
patch() {
  az rest --method PATCH --uri "https://graph.microsoft.com/v1.0/applications/$object_id" \
    --headers Content-Type=application/json --body "@$body" >/dev/null
}
printf '{"identifierUris":["api://%s"],"api":{"requestedAccessTokenVersion":2,"oauth2PermissionScopes":[%s]},"appRoles":[%s,%s]}' \
  "$app_id" "$scope" \
  "$(role Users.Read "Read users" "Get and list users.")" \
  "$(role Users.ReadWrite "Read and write users" "Create, read, update and delete users.")" >"$body"
patch
# A second request: Entra ID accepts a pre-authorization only for a scope that already exists.
printf '{"api":{"requestedAccessTokenVersion":2,"oauth2PermissionScopes":[%s],"preAuthorizedApplications":[{"appId":"%s","delegatedPermissionIds":["%s"]}]}}' \
  "$scope" "$azure_cli_app_id" "$scope_id" >"$body"
patch

# The service principal (enterprise application) is what roles are assigned on and what tokens are issued for.
if [[ -z "$(az ad sp list --filter "appId eq '$app_id'" --query '[0].id' -o tsv)" ]]; then
  az ad sp create --id "$app_id" >/dev/null
  echo "Created its service principal."
fi
# Only callers assigned a role get a token for the API at all; the app checks which role either way.
az ad sp update --id "$app_id" --set appRoleAssignmentRequired=true >/dev/null

azd env set AUTH_AUDIENCE "$app_id"
echo "Entra ID mode: audience $app_id (api://$app_id), roles Users.Read and Users.ReadWrite. Grant them as docs/auth.md shows."
