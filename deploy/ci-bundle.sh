#!/usr/bin/env bash
# CI check: the EF Core migration bundles build for both providers, and the SQLite one really migrates:
#   1. build the SQL Server and the SQLite bundle (self-contained linux-x64); the SQL Server one must start and try
#      to connect with an `Authentication=Active Directory Default` connection string,
#   2. run the SQLite bundle on a fresh database file: it must apply the migrations,
#   3. run it again: it must exit 0 and report that no migrations were applied,
#   4. if the dev server exists, start it on that file with start-up migrations off, and expect
#      GET /api/health = 200 and GET /api/users = 200 (the schema came from the bundle alone).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v curl >/dev/null; then
  sudo_cmd=""; [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq curl >/dev/null
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill -- "-$server_pid" 2>/dev/null || kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf -- '--> %s\n' "$*"; }

step "SQL Server bundle"
deploy/build-migrations-bundle.sh sqlserver "$work/efbundle-sqlserver"
step "SQLite bundle"
deploy/build-migrations-bundle.sh sqlite "$work/efbundle-sqlite"

# No SQL Server here: the SQL Server bundle must at least start, accept the pipeline's Entra connection string and
# get as far as the network (not stop at a keyword, globalization or startup error).
step "SQL Server bundle against an unreachable server"
if "$work/efbundle-sqlserver" --connection "Server=tcp:127.0.0.1,1;Database=Users;Encrypt=True;Authentication=Active Directory Default;Connect Timeout=3" \
    >"$work/sqlserver.log" 2>&1; then
  echo "FAILED: the SQL Server bundle succeeded against a server that does not exist" >&2
  exit 1
fi
if ! grep -q "A network-related or instance-specific error" "$work/sqlserver.log"; then
  cat "$work/sqlserver.log"
  echo "FAILED: the SQL Server bundle did not get as far as connecting" >&2
  exit 1
fi
echo "ok: it tried to connect"

db="$work/users.db"
step "SQLite bundle, first run on a fresh database"
"$work/efbundle-sqlite" --connection "Data Source=$db" | tee "$work/run1.log"
if ! grep -q "Applying migration" "$work/run1.log"; then
  echo "FAILED: the first run applied no migration" >&2
  exit 1
fi

step "SQLite bundle, second run"
"$work/efbundle-sqlite" --connection "Data Source=$db" | tee "$work/run2.log"
if ! grep -q "No migrations were applied" "$work/run2.log"; then
  echo "FAILED: the second run did not report 'No migrations were applied'" >&2
  exit 1
fi

devserver=UserFunctions.DevServer/UserFunctions.DevServer.csproj
if [[ ! -f "$devserver" ]]; then
  echo "skipped: $devserver does not exist yet"
  exit 0
fi

step "Dev server on the bundle-migrated database"
dotnet build "$devserver" --verbosity quiet --nologo
port=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
    port="$candidate"
    break
  fi
done
[[ -n "$port" ]] || { echo "FAILED: no free port found" >&2; exit 1; }

# Own process group, so the trap stops `dotnet run` and the server it started.
ConnectionStrings__Users="Data Source=$db" Database__MigrateOnStartup=false \
  setsid dotnet run --no-build --project UserFunctions.DevServer -- --urls "http://127.0.0.1:$port" \
  >"$work/server.log" 2>&1 &
server_pid=$!

base="http://127.0.0.1:$port/api"
status=""
for _ in $(seq 1 60); do
  status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/health" || true)"
  [[ "$status" == "200" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    break
  fi
  sleep 1
done
if [[ "$status" != "200" ]]; then
  cat "$work/server.log"
  echo "FAILED: GET /api/health returned '${status:-nothing}' (expected 200 within 60 s)" >&2
  exit 1
fi
echo "GET /api/health: 200"

status="$(curl -s -o "$work/users.json" -w '%{http_code}' --max-time 10 "$base/users")"
if [[ "$status" != "200" ]]; then
  cat "$work/server.log"
  echo "FAILED: GET /api/users returned $status (expected 200)" >&2
  exit 1
fi
echo "GET /api/users: 200 $(head -c 200 "$work/users.json")"
