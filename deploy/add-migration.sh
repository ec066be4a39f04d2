#!/usr/bin/env bash
# After a change to the model (an entity, its configuration): adds the migration NAME for every provider and refreshes
# EF's compiled models, so the staleness tests pass again. Without NAME it only refreshes the compiled models (a change
# that alters no table, such as a type moved to another namespace).
#   bash deploy/add-migration.sh AddDisplayName
set -euo pipefail
cd "$(dirname "$0")/.."

name="${1:-}"
dotnet tool restore >/dev/null
dotnet build UserFunctions.Core -v quiet -nologo

for provider in Sqlite SqlServer PostgreSql; do
  context="${provider}UsersDbContext"
  if [[ -n "$name" ]]; then
    echo "==> migration $name for $provider"
    dotnet ef migrations add "$name" --no-build --project UserFunctions.Core --context "$context" \
      --output-dir "Data/Migrations/$provider"
    # The new migration is part of the assembly the compiled model is read from.
    dotnet build UserFunctions.Core -v quiet -nologo
  fi

  echo "==> compiled model for $provider"
  dotnet ef dbcontext optimize --no-build --project UserFunctions.Core --context "$context" \
    --output-dir "Data/CompiledModels/$provider" --namespace "UserFunctions.Core.Data.CompiledModels.$provider"
done

dotnet format UserFunctions.Core/UserFunctions.Core.csproj
echo "Done. Review the new files under UserFunctions.Core/Data/Migrations and Data/CompiledModels, then run the tests."
