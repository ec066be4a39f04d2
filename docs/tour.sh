#!/usr/bin/env bash
# A tour of the Users API with curl: create (with an Idempotency-Key, and its replay), read, a conditional read (304),
# a list walked page by page, a patch with If-Match, a replace with a stale If-Match (412), deletes and the 404 after.
# Every status is checked; a wrong one stops the tour with exit code 1. It works on a new or a used database (its
# usernames are new on every run) and deletes the users it made. The contract it follows: docs/contract.md.
#
#   BASE_URL      where the API runs, without /api (default http://127.0.0.1:5080, the dev server's address in the README)
#   FUNCTION_KEY  sent as x-functions-key when set: the Functions app in Azure, or behind the test host with --function-key
#
#   bash docs/tour.sh
#   BASE_URL=http://127.0.0.1:7071 FUNCTION_KEY=dev-key bash docs/tour.sh
set -euo pipefail

api="${BASE_URL:-http://127.0.0.1:5080}"
api="${api%/}/api"
key=()
[[ -n "${FUNCTION_KEY:-}" ]] && key=(-H "x-functions-key: $FUNCTION_KEY")
run="$(date +%s)$RANDOM"            # makes this run's usernames, emails and Idempotency-Key new
response="$(mktemp -d)"
trap 'rm -rf "$response"' EXIT

# call EXPECTED METHOD PATH [curl arguments...]: sends the request, prints the status and the body, and stops the tour
# unless the status is EXPECTED. The response stays in $response/headers and $response/body.
call() {
  local expected="$1" method="$2" path="$3"; shift 3
  local status
  : >"$response/body"
  status="$(curl -sS -X "$method" ${key[@]+"${key[@]}"} "$@" -D "$response/headers" -o "$response/body" -w '%{http_code}' "$api$path" || true)"
  printf '%s %s -> %s %s\n' "$method" "$path" "$status" "$(head -c 300 "$response/body")"
  if [[ "$status" != "$expected" ]]; then
    echo "FAILED: expected $expected" >&2
    exit 1
  fi
}

# header NAME (lower case): its value in the last response.
header() { tr -d '\r' <"$response/headers" | awk -v name="$1" 'tolower($0) ~ "^" name ":" { sub(/^[^:]*: */, ""); value = $0 } END { print value }'; }
json_number() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$response/body"; }
# The "next" link; JSON escapes its '&' as \u0026.
next_link() { sed -n 's/.*"next":"\([^"]*\)".*/\1/p' "$response/body" | sed 's/\\u0026/\&/g'; }
fail() { echo "FAILED: $*" >&2; exit 1; }

echo "== Health (anonymous)"
call 200 GET /health

echo "== Create with an Idempotency-Key: 201 with Location and ETag"
user="{\"username\":\"tour_$run\",\"email\":\"tour.$run@example.com\"}"
call 201 POST /users -H 'Content-Type: application/json' -H "Idempotency-Key: \"tour-$run\"" -d "$user"
id="$(json_number id)"
etag="$(header etag)"
location="$(header location)"
echo "   id=$id ETag=$etag Location=$location"

echo "== The same request with the same key: the first 201 again, nothing written"
call 201 POST /users -H 'Content-Type: application/json' -H "Idempotency-Key: \"tour-$run\"" -d "$user"
[[ "$(header location)" == "$location" && "$(header etag)" == "$etag" ]] || fail "the repeat was not the first response"

echo "== A second user, without a key"
call 201 POST /users -H 'Content-Type: application/json' -d "{\"username\":\"tour_${run}_2\",\"email\":\"tour.$run.2@example.com\"}"
second="$(json_number id)"

echo "== Read: 200 with the ETag; again with If-None-Match: 304, no body"
call 200 GET "/users/$id"
[[ "$(header etag)" == "$etag" ]] || fail "GET gave another ETag than the create"
call 304 GET "/users/$id" -H "If-None-Match: $etag"

echo "== Find by username: exact and case-insensitive"
call 200 GET "/users?username=TOUR_$run"
grep -q "\"id\":$id," "$response/body" || fail "the filter did not find user $id"

echo "== List one user per page, following next (three pages at most)"
path="/users?limit=1"
for page in 1 2 3; do
  call 200 GET "$path"
  next="$(next_link)"
  [[ -n "$next" ]] || break
  # next is absolute, as the client reached the API.
  [[ "$next" == "$api"/* ]] || fail "next is not an absolute link under $api: $next"
  path="${next#"$api"}"
done
[[ $page -ge 2 ]] || fail "two users, one per page, yet no next link"

echo "== Patch (merge patch) with If-Match: 200 and a new ETag"
call 200 PATCH "/users/$id" -H 'Content-Type: application/merge-patch+json' -H "If-Match: $etag" \
  -d "{\"email\":\"tour.$run@example.org\"}"
stale="$etag"
etag="$(header etag)"
[[ "$etag" != "$stale" ]] || fail "the patch kept the ETag"

echo "== Replace with the ETag from before the patch: 412, nothing changes"
call 412 PUT "/users/$id" -H 'Content-Type: application/json' -H "If-Match: $stale" \
  -d "{\"username\":\"tour_$run\",\"email\":\"stale.$run@example.com\"}"

echo "== Delete with the current ETag: 204; then the user is a 404"
call 204 DELETE "/users/$id" -H "If-Match: $etag"
call 404 GET "/users/$id"
call 204 DELETE "/users/$second"

echo "Tour passed against $api"
