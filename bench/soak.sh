#!/usr/bin/env bash
# Exactly-once soak (issue 11): N clients send random creates, replaces, patches, deletes and reads, with and without
# Idempotency-Key, for a fixed time against the API on a private PostgreSQL cluster, while a TCP proxy between the API and
# the server resets every open connection at random moments and now and then refuses all of them for a second or two.
# Then the database is compared with the log of acknowledged writes: it prints the counts and exits 1 on any lost
# acknowledged write, unexplained row, 500, or false 409/412/404.
#
#   bash bench/soak.sh [--host devserver|functions|both] [--seconds 60] [--clients 16] [--seed 1]
#
# Needs PostgreSQL's server binaries (apt-get install postgresql); run as root it starts the cluster as `postgres`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
host=devserver seconds=60 clients=16 seed=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --host) host=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
case "$host" in devserver) hosts=(devserver) ;; functions) hosts=(functions) ;; both) hosts=(devserver functions) ;; *) echo "soak: --host is devserver, functions or both" >&2; exit 2 ;; esac

dotnet build "$repo/bench/Soak" -c Release --nologo -v q -clp:ErrorsOnly >/dev/null
[[ " ${hosts[*]} " == *" functions "* ]] && dotnet build "$repo/UserFunctions" -c Release --nologo -v q -clp:ErrorsOnly >/dev/null

status=0
for h in "${hosts[@]}"; do
  dotnet "$repo/bench/Soak/bin/Release/net10.0/UserFunctions.Bench.Soak.dll" --host "$h" --seconds "$seconds" --clients "$clients" \
    --seed "$seed" --functions-app "$repo/UserFunctions/bin/Release/net10.0" || status=1
done
exit $status
