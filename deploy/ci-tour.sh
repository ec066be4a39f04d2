#!/usr/bin/env bash
# CI check: the README's curl tour (docs/tour.sh) runs as pasted, on both hosts:
#   1. the dev server on a fresh SQLite file: the tour twice (a new database, then a used one),
#   2. the Functions app, run by the test host's command line with a function key, on that used file: the tour with
#      FUNCTION_KEY.
# Uses the build output: .ci/run builds the solution before it runs the deploy/ci-*.sh checks.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

test_host=UserFunctions.TestHost/bin/Debug/net10.0/UserFunctions.TestHost.dll
functions_app=UserFunctions/bin/Debug/net10.0
for built in "$test_host" "$functions_app/UserFunctions.dll" UserFunctions.DevServer/bin/Debug/net10.0/UserFunctions.DevServer.dll; do
  [[ -f "$built" ]] || { echo "FAILED: $built is missing; run 'dotnet build UserFunctions.sln' first" >&2; exit 1; }
done

if ! command -v curl >/dev/null; then
  sudo_cmd=""; [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq curl >/dev/null
fi

work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill -- "-$server_pid" 2>/dev/null || kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT

step() { printf -- '--> %s\n' "$*"; }

# shellcheck source=deploy/lib/free-port.sh
source deploy/lib/free-port.sh

# wait_until_healthy BASE_URL LOG: until GET /api/health is 200 (60 s at most, or until the server exits).
wait_until_healthy() {
  local status=""
  for _ in $(seq 1 60); do
    status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/api/health" || true)"
    [[ "$status" == "200" ]] && return
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 1
  done
  cat "$2"
  echo "FAILED: GET $1/api/health returned '${status:-nothing}' (expected 200 within 60 s)" >&2
  exit 1
}

# tour NAME LOG [VARIABLE=value ...]: runs docs/tour.sh with those variables; shows the server's log if it fails.
tour() {
  local name="$1" log="$2"; shift 2
  step "the tour: $name"
  if ! env "$@" bash docs/tour.sh; then
    cat "$log"
    echo "FAILED: the tour ($name)" >&2
    exit 1
  fi
}

database="Data Source=$work/tour.db"

port="$(free_port)"
log="$work/devserver.log"
step "dev server on a new SQLite file, http://127.0.0.1:$port"
# Own process group, so stop_server stops dotnet run and the server it started.
ConnectionStrings__Users="$database" \
  setsid dotnet run --no-build --project UserFunctions.DevServer -- --urls "http://127.0.0.1:$port" >"$log" 2>&1 &
server_pid=$!
wait_until_healthy "http://127.0.0.1:$port" "$log"
tour "dev server, new database" "$log" BASE_URL="http://127.0.0.1:$port"
tour "dev server, used database" "$log" BASE_URL="http://127.0.0.1:$port"
stop_server

port="$(free_port)"
log="$work/functions.log"
function_key="tour-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
step "Functions app behind the test host with a function key, on the used file, http://127.0.0.1:$port"
ConnectionStrings__Users="$database" \
  setsid dotnet "$test_host" --app "$functions_app" --urls "http://127.0.0.1:$port" --function-key "$function_key" >"$log" 2>&1 &
server_pid=$!
wait_until_healthy "http://127.0.0.1:$port" "$log"
tour "Functions app, function key" "$log" BASE_URL="http://127.0.0.1:$port" FUNCTION_KEY="$function_key"
stop_server

echo "ok: the tour passed on the dev server (new and used database) and on the Functions app with a function key"
