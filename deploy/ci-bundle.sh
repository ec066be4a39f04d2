#!/usr/bin/env bash
# CI check: the EF Core migration bundles build for every provider, and the SQLite and PostgreSQL ones really migrate:
#   1. build the SQL Server, SQLite and PostgreSQL bundles (self-contained linux-x64); the SQL Server one must start and
#      try to connect with an `Authentication=Active Directory Default` connection string,
#   2. run the SQLite bundle on a fresh database file, and the PostgreSQL bundle on a throwaway local cluster (initdb, as
#      the postgres user when run as root): each must apply the migrations,
#   3. run each again: it must exit 0 and report that no migrations were applied,
#   4. start the dev server on each of those databases with start-up migrations off, and expect GET /api/health = 200,
#      GET /api/users = 200 and POST /api/users = 201 (the schema came from the bundle alone); then the same through the
#      Functions app, run by the test host's command line with a function key (and a 401 without it).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v curl >/dev/null; then
  sudo_cmd=""; [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq curl >/dev/null
fi

pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[[ -x "$pg_bin/initdb" ]] || { echo "FAILED: no PostgreSQL server binaries; install them: apt-get install -y postgresql" >&2; exit 1; }
as_postgres=()
[[ $(id -u) -eq 0 ]] && as_postgres=(runuser -u postgres --)   # PostgreSQL refuses to run as root

work="$(mktemp -d)"
pg_dir="$(mktemp -d)"
server_pid=""
cleanup() {
  stop_server
  "${as_postgres[@]}" "$pg_bin/pg_ctl" stop -D "$pg_dir/data" -m immediate >/dev/null 2>&1 || true
  rm -rf "$work" "$pg_dir"
}
trap cleanup EXIT

step() { printf -- '--> %s\n' "$*"; }

stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill -- "-$server_pid" 2>/dev/null || kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

# shellcheck source=deploy/lib/free-port.sh
source deploy/lib/free-port.sh

# Runs a bundle twice on one database: the first run must apply the migrations, the second nothing.
migrate_twice() {
  local name="$1" bundle="$2" connection="$3"
  step "$name bundle, first run on a fresh database"
  "$bundle" --connection "$connection" | tee "$work/$name-run1.log"
  if ! grep -q "Applying migration" "$work/$name-run1.log"; then
    echo "FAILED: the first $name run applied no migration" >&2
    exit 1
  fi

  step "$name bundle, second run"
  "$bundle" --connection "$connection" | tee "$work/$name-run2.log"
  if ! grep -q "No migrations were applied" "$work/$name-run2.log"; then
    echo "FAILED: the second $name run did not report 'No migrations were applied'" >&2
    exit 1
  fi
}

step "SQL Server bundle"
deploy/build-migrations-bundle.sh sqlserver "$work/efbundle-sqlserver"
step "SQLite bundle"
deploy/build-migrations-bundle.sh sqlite "$work/efbundle-sqlite"
step "PostgreSQL bundle"
deploy/build-migrations-bundle.sh postgresql "$work/efbundle-postgresql"

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
migrate_twice SQLite "$work/efbundle-sqlite" "Data Source=$db"

step "Throwaway PostgreSQL cluster ($("$pg_bin/postgres" --version))"
pg_password="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$pg_password" >"$pg_dir/password"
[[ $(id -u) -eq 0 ]] && chown -R postgres: "$pg_dir"
"${as_postgres[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=scram-sha-256 --pwfile="$pg_dir/password" \
  --encoding=UTF8 --locale=C --no-sync >/dev/null
pg_port="$(free_port)"
"${as_postgres[@]}" "$pg_bin/pg_ctl" start -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$pg_dir -c fsync=off" >/dev/null
# The bundle creates the database too, as it would on a server of your own.
pg_connection="Host=127.0.0.1;Port=$pg_port;Database=users;Username=postgres;Password=$pg_password"
migrate_twice PostgreSQL "$work/efbundle-postgresql" "$pg_connection"

dotnet build UserFunctions.DevServer --verbosity quiet --nologo
dotnet build UserFunctions.TestHost --verbosity quiet --nologo
dotnet build UserFunctions --verbosity quiet --nologo
function_key="ci-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# Starts the API on the given host (devserver | functions) with the given settings (NAME=value ...) and checks that it
# reads and writes that database.
serve() {
  local name="$1" host="$2"; shift 2
  step "$host on the bundle-migrated $name database"
  local port base status key_header=()
  port="$(free_port)"
  # Own process group, so stop_server stops the server and whatever it started.
  if [[ "$host" == devserver ]]; then
    env "$@" Database__MigrateOnStartup=false \
      setsid dotnet run --no-build --project UserFunctions.DevServer -- --urls "http://127.0.0.1:$port" \
      >"$work/server-$name-$host.log" 2>&1 &
  else
    env "$@" Database__MigrateOnStartup=false \
      setsid dotnet UserFunctions.TestHost/bin/Debug/net10.0/UserFunctions.TestHost.dll \
        --app UserFunctions/bin/Debug/net10.0 --urls "http://127.0.0.1:$port" --function-key "$function_key" \
      >"$work/server-$name-$host.log" 2>&1 &
    key_header=(-H "x-functions-key: $function_key")
  fi
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
    cat "$work/server-$name-$host.log"
    echo "FAILED: GET /api/health on $name returned '${status:-nothing}' (expected 200 within 60 s)" >&2
    exit 1
  fi
  echo "GET /api/health: 200"

  if [[ "$host" == functions ]]; then
    status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$base/users")"
    if [[ "$status" != "401" ]]; then
      echo "FAILED: GET /api/users without a function key returned $status (expected 401)" >&2
      exit 1
    fi
    echo "GET /api/users without the key: 401"
  fi

  status="$(curl -s -o "$work/users.json" -w '%{http_code}' --max-time 10 "${key_header[@]}" "$base/users")"
  if [[ "$status" != "200" ]]; then
    cat "$work/server-$name-$host.log"
    echo "FAILED: GET /api/users on $name returned $status (expected 200)" >&2
    exit 1
  fi
  echo "GET /api/users: 200 $(head -c 200 "$work/users.json")"

  status="$(curl -s -o "$work/user.json" -w '%{http_code}' --max-time 10 -X POST "$base/users" "${key_header[@]}" \
    -H 'Content-Type: application/json' -d "{\"username\":\"ci_$host\",\"email\":\"ci_$host@example.com\"}")"
  if [[ "$status" != "201" ]]; then
    cat "$work/server-$name-$host.log" "$work/user.json"
    echo "FAILED: POST /api/users on $name returned $status (expected 201)" >&2
    exit 1
  fi
  echo "POST /api/users: 201 $(head -c 200 "$work/user.json")"
  stop_server
}

serve SQLite devserver ConnectionStrings__Users="Data Source=$db"
serve PostgreSQL devserver Database__Provider=PostgreSql ConnectionStrings__Users="$pg_connection"
serve SQLite functions ConnectionStrings__Users="Data Source=$db"
serve PostgreSQL functions Database__Provider=PostgreSql ConnectionStrings__Users="$pg_connection"
