#!/usr/bin/env bash
# Builds the EF Core migration bundle: one self-contained linux-x64 executable that applies the migrations
# of one provider, with no SDK or dotnet-ef needed where it runs.
#
#   deploy/build-migrations-bundle.sh [sqlserver|sqlite|postgresql] [output]     (defaults: sqlserver, artifacts/efbundle-<provider>)
#
# Running the bundle:
#   ./efbundle --connection "Server=tcp:<server>.database.windows.net,1433;Database=<db>;Encrypt=True;Authentication=Active Directory Default"
#   ./efbundle --connection "Data Source=users.db"
#   ./efbundle --connection "Host=<server>;Database=<db>;Username=<admin>;Password=<password or Entra access token>"
# - It applies only the migrations that the database's __EFMigrationsHistory table lacks, in order, so it is
#   safe to run on every deployment: a rerun prints "No migrations were applied. The database is already up to date."
#   and exits 0. (Bundles have no --idempotent switch; that belongs to `dotnet ef migrations script`.)
# - `Authentication=Active Directory Default` signs in with DefaultAzureCredential: `az login` locally, the federated
#   identity of a pipeline (azure/login with OIDC), a managed identity in Azure. SqlClient 6.x (via EF Core 10) has
#   Entra authentication built in. The signed-in principal must be able to run DDL: the SQL server's Entra admin.
# - PostgreSQL: the bundle uses the connection string as given; for Azure Database for PostgreSQL with Entra, pass an
#   access token as the password (`az account get-access-token --resource-type oss-rdbms --query accessToken -o tsv`).
# - SQL Server and PostgreSQL commands time out after 600 s (a long index build); set EF_COMMAND_TIMEOUT_SECONDS to change it.
# - `./efbundle --help` lists --connection, --verbose and the target-migration argument.
set -euo pipefail
cd "$(dirname "$0")/.."

provider="${1:-sqlserver}"
case "$provider" in
  sqlserver) context=SqlServerUsersDbContext ;;
  sqlite) context=SqliteUsersDbContext ;;
  postgresql) context=PostgreSqlUsersDbContext ;;
  *) echo "usage: $0 [sqlserver|sqlite|postgresql] [output]" >&2; exit 2 ;;
esac
output="${2:-artifacts/efbundle-$provider}"
mkdir -p "$(dirname "$output")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet tool restore >/dev/null
dotnet ef migrations bundle \
  --self-contained -r linux-x64 \
  --project UserFunctions.Migrations \
  --context "$context" \
  --force \
  -o "$output"
echo "Bundle for $provider: $output"
