# SPDX-License-Identifier: MIT
# Sourced by the `spmi web` tests (tests/cli/web_*.sh, tests/security/web_*.sh) after common.sh:
#   start_web       starts `spmi web --listen 127.0.0.1:0`, sets WEB_PID, URL, BASE, PORT, TOKEN
#   api ARGS...     curl with the Bearer token and the Host the server expects
need curl
need jq
start_web() {
  # Emptied here, not only by the background child's redirection, which may come after the wait below
  # has read the previous server's URL.
  : >"$T/web.out"
  "$SPMI" web --listen 127.0.0.1:0 >"$T/web.out" 2>"$T/web.err" &
  WEB_PID=$!
  wait_for 10 grep -q '^spmi web: http://' "$T/web.out" || { cat "$T/web.err" >&2; fail "spmi web printed no URL"; }
  URL=$(sed -n 's/^spmi web: //p' "$T/web.out")
  BASE=${URL%%/\?token=*}
  PORT=${BASE##*:}
  TOKEN=${URL##*token=}
}
stop_web() { kill -TERM "$WEB_PID" 2>/dev/null || true; wait "$WEB_PID" 2>/dev/null || true; }
api() { curl -sS --max-time 30 -H "Authorization: Bearer $TOKEN" "$@"; }
# http_code ARGS...: only the status code of a curl request.
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$@"; }
