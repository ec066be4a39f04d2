#!/usr/bin/env bash
# Makes the app's managed identity a db_datareader + db_datawriter user of the Users database on Azure SQL (rerunnable).
# Runs deploy/azuresql/grant-app-user.sql with go-sqlcmd as whoever is signed in (ActiveDirectoryDefault: the pipeline's
# federated identity after azure/login, or `az login` locally). That principal must be the Azure SQL server's Entra
# admin.
#
#   deploy/grant-app-user-azuresql.sh <server-fqdn> <database> <app-identity-name>
#   (or set DATABASE_SERVER_FQDN, DATABASE_NAME, APP_IDENTITY_NAME: the Bicep outputs)
#
# go-sqlcmd (the Go `sqlcmd`, which supports --authentication-method ActiveDirectoryDefault; the older ODBC sqlcmd
# from mssql-tools does not) is used from PATH, or SQLCMD if set, or downloaded once into .tools/ from its GitHub
# release. Other installs: `brew install sqlcmd`, `winget install sqlcmd`, or the `sqlcmd` package from
# Microsoft's apt/yum repositories.
set -euo pipefail
cd "$(dirname "$0")/.."

server="${1:-${DATABASE_SERVER_FQDN:?server FQDN (argument 1 or DATABASE_SERVER_FQDN)}}"
database="${2:-${DATABASE_NAME:?database name (argument 2 or DATABASE_NAME)}}"
identity="${3:-${APP_IDENTITY_NAME:?app identity name (argument 3 or APP_IDENTITY_NAME)}}"

# Identity names are [A-Za-z0-9_-]; refuse anything that could break out of the script's quoting.
if [[ ! "$identity" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$ ]]; then
  echo "Unexpected identity name: $identity" >&2
  exit 2
fi

sqlcmd_version="v1.8.2"
find_sqlcmd() {
  if [[ -n "${SQLCMD:-}" ]]; then echo "$SQLCMD"; return; fi
  # go-sqlcmd, not the ODBC sqlcmd: only the former knows --authentication-method.
  if command -v sqlcmd >/dev/null && sqlcmd --help 2>&1 | grep -q -- '--authentication-method'; then
    command -v sqlcmd; return
  fi
  local dir=".tools/go-sqlcmd-$sqlcmd_version"
  if [[ ! -x "$dir/sqlcmd" ]]; then
    echo "Installing go-sqlcmd $sqlcmd_version into $dir" >&2
    mkdir -p "$dir"
    curl -fsSL "https://github.com/microsoft/go-sqlcmd/releases/download/$sqlcmd_version/sqlcmd-linux-amd64.tar.bz2" \
      | tar -xj -C "$dir" sqlcmd
  fi
  echo "$dir/sqlcmd"
}
sqlcmd_bin="$(find_sqlcmd)"

echo "Granting [$identity] db_datareader + db_datawriter on $server/$database"
"$sqlcmd_bin" \
  -S "tcp:$server,1433" \
  -d "$database" \
  --authentication-method ActiveDirectoryDefault \
  -b \
  -v "AppIdentityName=$identity" \
  -i deploy/azuresql/grant-app-user.sql
