#!/usr/bin/env bash
# After a change to the model (an entity, its configuration): adds the migration NAME for every provider and refreshes
# EF's compiled models, so the staleness tests pass again. Without NAME it only refreshes the compiled models (a change
# that alters no table, such as a type moved to another namespace).
#   bash deploy/add-migration.sh AddDisplayName
set -euo pipefail
cd "$(dirname "$0")/.."

name="${1:-}"
dotnet tool restore >/dev/null
dotnet build UserFunctions.Migrations -v quiet -nologo

for provider in Sqlite SqlServer PostgreSql; do
  context="${provider}UsersDbContext"
  if [[ -n "$name" ]]; then
    echo "==> migration $name for $provider"
    dotnet ef migrations add "$name" --no-build --project UserFunctions.Migrations --context "$context" \
      --output-dir "$provider" --namespace "UserFunctions.Migrations.$provider"
    dotnet build UserFunctions.Migrations -v quiet -nologo
  fi

  echo "==> compiled model for $provider"
  # The compiled models live in Core, beside the contexts; the tools find the contexts through the Migrations project's
  # design-time factories.
  dotnet ef dbcontext optimize --no-build --project UserFunctions.Core --startup-project UserFunctions.Migrations --context "$context" \
    --output-dir "Data/CompiledModels/$provider" --namespace "UserFunctions.Core.Data.CompiledModels.$provider"
done

dotnet format UserFunctions.Core/UserFunctions.Core.csproj
dotnet format UserFunctions.Migrations/UserFunctions.Migrations.csproj
echo "Done. Review the new files under UserFunctions.Migrations and UserFunctions.Core/Data/CompiledModels, then run the tests."
