#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `spmi web`'s API with curl: the URL line, the token file (0600), the token-for-cookie exchange,
# /api/list and /api/manageables/<id> equal to `list --json` and `status --json`, the actions with
# their exit status and message, and the event stream (list, then output, following a restart).
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/web_common.sh"
task_toml w.toml webtask "echo first-\$SPMI_ID; while sleep 0.2; do echo tick; done" local
run 0 load w.toml
start_web
trap 'stop_web; cleanup' EXIT
[[ $URL =~ ^http://127\.0\.0\.1:[0-9]+/\?token=[0-9a-f]{64}$ ]] || fail "URL line: $URL"
[ "$(stat -c %a "$SPMI_PATH/.web-token")" = 600 ] || fail "token file mode $(stat -c %a "$SPMI_PATH/.web-token")"
[ "$(cat "$SPMI_PATH/.web-token")" = "$TOKEN" ] || fail "token file differs from the URL's token"
pass "URL line and token file"

# The token for a cookie: 303 to /, HttpOnly, SameSite=Strict; the cookie then opens the page.
curl -s -D "$T/h" -o /dev/null -c "$T/jar" "$URL" || true
grep -q '^HTTP/1.1 303' "$T/h" || fail "token URL: $(head -1 "$T/h")"
grep -qi '^location: /' "$T/h" || fail "no Location: /"
grep -qi "^set-cookie: spmi_$PORT=[0-9a-f]*; HttpOnly; SameSite=Strict; Path=/" "$T/h" || fail "cookie: $(grep -i set-cookie "$T/h")"
[ "$(http_code -b "$T/jar" "$BASE/")" = 200 ] || fail "the cookie does not open the page"
[ "$(http_code -b "$T/jar" "$BASE/api/list")" = 200 ] || fail "the cookie does not open the API"
pass "token exchanged for a session cookie"

norm='del(.manageables[].uptime_seconds, .manageables[].resources)'
api "$BASE/api/list" | jq -S "$norm" >"$T/web_list"
"$SPMI" list --json | jq -S "$norm" >"$T/cli_list"
diff "$T/web_list" "$T/cli_list" || fail "/api/list differs from list --json"
pass "/api/list equals list --json"

# Actions: exit status and what the CLI would say.
api -X POST -H 'Content-Type: application/json' "$BASE/api/manageables/webtask/start" >"$T/start" || true
jq -e '.exit == 0' "$T/start" >/dev/null || fail "start: $(cat "$T/start")"
grep -q 'Starting manageable' "$T/start" || fail "start message: $(cat "$T/start")"
is_active webtask || fail "webtask not active after the POST"
code=$(http_code -H "Authorization: Bearer $TOKEN" -X POST -H 'Content-Type: application/json' "$BASE/api/manageables/webtask/start")
[ "$code" = 409 ] || fail "a second start answered $code, expected 409"
api -X POST -H 'Content-Type: application/json' "$BASE/api/manageables/webtask/start" | jq -e '.exit == 1 and (.message | test("is active"))' >/dev/null \
  || fail "a second start's body"
pass "POST start: exit 0 and message; again: 409 with exit 1"

norm_status='del(.manageables[].uptime_seconds, .manageables[].resources, .manageables[].output)'
api "$BASE/api/manageables/webtask" | jq -S "$norm_status" >"$T/web_status"
"$SPMI" status --json webtask | jq -S "$norm_status" >"$T/cli_status"
diff "$T/web_status" "$T/cli_status" || fail "/api/manageables/webtask differs from status --json"
[ "$(http_code -H "Authorization: Bearer $TOKEN" "$BASE/api/manageables/nosuch")" = 404 ] || fail "unknown ID not 404"
pass "/api/manageables/<id> equals status --json; unknown: 404"

# The event stream: list at once, then the output, and after a restart the new run's output.
curl -sN --max-time 20 -H "Authorization: Bearer $TOKEN" "$BASE/api/events?log=webtask" >"$T/events" &
curl_pid=$!
wait_for 5 grep -q '^event: list' "$T/events" || fail "no list event"
head -1 "$T/events" | grep -q '^retry: 2000' || fail "no retry first"
wait_for 5 grep -q '"text":"[^"]*first-webtask' "$T/events" || fail "no log event with the output"
grep '^data: ' "$T/events" | sed 's/^data: //' | jq -e . >/dev/null || fail "an event is not one line of JSON"
before=$(grep -c 'first-webtask' "$T/events")
api -X POST -H 'Content-Type: application/json' "$BASE/api/manageables/webtask/restart" | jq -e '.exit == 0' >/dev/null || fail "restart"
more_runs() { [ "$(grep -c 'first-webtask' "$T/events")" -gt "$before" ]; }
wait_for 10 more_runs || fail "the restarted run's output did not arrive"
pass "events: list, log, following a restart"

for action in stop kill; do
  api -X POST -H 'Content-Type: application/json' "$BASE/api/manageables/webtask/$action" >"$T/a" || true
  case $action in
    stop) jq -e '.exit == 0' "$T/a" >/dev/null || fail "stop: $(cat "$T/a")" ;;
    kill) jq -e '.exit == 1' "$T/a" >/dev/null || fail "kill of an inactive task: $(cat "$T/a")" ;;
  esac
done
is_inactive webtask || fail "webtask still active after stop"
pass "POST stop (exit 0) and kill of an inactive task (exit 1)"
kill "$curl_pid" 2>/dev/null || true
stop_web
