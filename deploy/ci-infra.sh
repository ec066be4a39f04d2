#!/usr/bin/env bash
# CI check: the Bicep in infra/ compiles and lints with no warning and no error.
# The Bicep CLI comes from the NuGet package Azure.Bicep.CommandLine.linux-x64 (referenced by UserFunctions.Tests
# with GeneratePathProperty, version in Directory.Packages.props), so a machine with only `dotnet` can run this.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

tests=UserFunctions.Tests/UserFunctions.Tests.csproj
dotnet restore "$tests" --verbosity quiet
package="$(dotnet msbuild "$tests" -getProperty:PkgAzure_Bicep_CommandLine_linux-x64)"
bicep="$package/tools/bicep"
[[ -x "$bicep" ]] || chmod +x "$bicep"
"$bicep" --version

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
failed=0

# Bicep exits 0 on warnings; any diagnostic line fails the check.
check() {
  local log="$out/log"
  if ! "$bicep" "$@" >"$log" 2>&1; then
    cat "$log"
    echo "FAILED: bicep $*" >&2
    failed=1
    return
  fi
  if grep -E ' : (Warning|Error|Info) ' "$log"; then
    echo "FAILED: bicep $* reported diagnostics" >&2
    failed=1
    return
  fi
  echo "ok: bicep $*"
}

check build infra/main.bicep --outfile "$out/main.json"
for file in infra/main.bicep infra/app/*.bicep; do
  check lint "$file"
done

exit "$failed"
