#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `spmi web` refuses what a hostile page or local user would send: no token, a wrong token, a foreign
# Origin, a forged Host (DNS rebinding), GET on an action, a cookie POST without its CSRF value, a
# POST that is not JSON, oversize headers and bodies; and sends the security headers, no CORS.
source "$(dirname "$0")/../cli/common.sh"
source "$(dirname "$0")/../cli/web_common.sh"
task_toml w.toml victim "sleep 1000.$TAG" local
run 0 load w.toml
run 0 start victim
start_web
trap 'stop_web; cleanup' EXIT
B=(-H "Authorization: Bearer $TOKEN")
J=(-H 'Content-Type: application/json' -X POST)
expect() { local want=$1 what=$2; shift 2; local got; got=$(http_code "$@"); [ "$got" = "$want" ] || fail "$what: $got, expected $want"; }
expect 401 "no token" "$BASE/api/list"
expect 401 "no token on events" "$BASE/api/events"
expect 401 "no token on an action" "${J[@]}" "$BASE/api/manageables/victim/stop"
expect 401 "wrong token" -H "Authorization: Bearer ${TOKEN//?/0}" "$BASE/api/list"
expect 401 "wrong token URL" "$BASE/?token=${TOKEN//?/1}"
expect 200 "right token" "${B[@]}" "$BASE/api/list"
expect 403 "forged Host" "${B[@]}" -H "Host: evil.example:$PORT" "$BASE/api/list"
expect 200 "Host localhost" "${B[@]}" -H "Host: localhost:$PORT" "$BASE/api/list"
expect 403 "foreign Origin" "${B[@]}" -H "Origin: http://evil.example" "${J[@]}" "$BASE/api/manageables/victim/stop"
expect 403 "another port's Origin" "${B[@]}" -H "Origin: http://127.0.0.1:1" "$BASE/api/list"
expect 403 "Sec-Fetch-Site same-site" "${B[@]}" -H "Sec-Fetch-Site: same-site" "$BASE/api/list"
expect 405 "GET on an action" "${B[@]}" "$BASE/api/manageables/victim/stop"
expect 405 "OPTIONS" "${B[@]}" -X OPTIONS "$BASE/api/manageables/victim/stop"
expect 415 "text/plain POST" "${B[@]}" -X POST -H 'Content-Type: text/plain' "$BASE/api/manageables/victim/stop"
curl -s -o /dev/null -c "$T/jar" "$URL"
expect 403 "cookie POST without CSRF" -b "$T/jar" -H "Origin: $BASE" "${J[@]}" "$BASE/api/manageables/victim/stop"
expect 403 "cookie POST, wrong CSRF" -b "$T/jar" -H "Origin: $BASE" -H "X-Spmi-Csrf: 00" "${J[@]}" "$BASE/api/manageables/victim/stop"
is_active victim || fail "a refused request stopped the task"
pass "refused: no or wrong token, foreign Host/Origin/site, GET or OPTIONS on an action, no CSRF"
expect 431 "9 KiB header" "${B[@]}" -H "X-Big: $(head -c 9216 /dev/zero | tr '\0' a)" "$BASE/api/list"
head -c 8192 /dev/zero | tr '\0' a >"$T/body"
expect 413 "8 KiB body" "${B[@]}" "${J[@]}" --data-binary @"$T/body" "$BASE/api/manageables/victim/stop"
expect 404 "unknown path" "${B[@]}" "$BASE/etc/passwd"
pass "oversize header 431, body 413, unknown 404"
csrf=$(curl -s -b "$T/jar" "$BASE/api/session" | jq -r .csrf)
expect 200 "cookie POST with CSRF" -b "$T/jar" -H "Origin: $BASE" -H "X-Spmi-Csrf: $csrf" "${J[@]}" "$BASE/api/manageables/victim/stop"
is_inactive victim || fail "the allowed stop did not stop"
for path in / /app.js /api/list; do
  curl -s -D "$T/h" -o /dev/null "${B[@]}" "$BASE$path"
  grep -qi "^content-security-policy: default-src 'none'" "$T/h" || fail "no CSP on $path"
  grep -qi '^x-content-type-options: nosniff' "$T/h" || fail "no nosniff on $path"
  ! grep -qi '^access-control-' "$T/h" || fail "CORS header on $path"
done
pass "cookie POST with CSRF allowed; security headers, no CORS"

# Loopback unless asked: another address is refused without --allow-remote, served with a warning with it.
run 2 web --listen 0.0.0.0:0
err_has "not a loopback address"
err_has "--allow-remote"
"$SPMI" web --listen 0.0.0.0:0 --allow-remote >"$T/remote.out" 2>"$T/remote.err" &
remote=$!
wait_for 10 grep -q '^spmi web: http://' "$T/remote.out" || fail "--allow-remote: no URL line: $(cat "$T/remote.err")"
grep -q 'not loopback' "$T/remote.err" || fail "--allow-remote: no warning: $(cat "$T/remote.err")"
kill -TERM "$remote"; wait "$remote" || fail "--allow-remote: the server did not end cleanly"
pass "a non-loopback address: refused (exit 2) without --allow-remote, a warning with it"
