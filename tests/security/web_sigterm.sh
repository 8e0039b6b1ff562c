#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGTERM (and SIGINT) end `spmi web` cleanly with an event stream open: exit 0 within 3 s, the stream
# gets `event: bye`, and the tasks keep running.
source "$(dirname "$0")/../cli/common.sh"
source "$(dirname "$0")/../cli/web_common.sh"
task_toml w.toml keep "sleep 1000.$TAG" local
run 0 load w.toml
run 0 start keep
for sig in TERM INT; do
  start_web
  : >"$T/ev"  # now: the background curl's own truncation may come after the wait reads the last round's
  curl -sN --max-time 20 -H "Authorization: Bearer $TOKEN" "$BASE/api/events?log=keep" >"$T/ev" &
  curl_pid=$!
  wait_for 5 grep -q '^event: list' "$T/ev" || fail "no stream"
  kill -"$sig" "$WEB_PID"
  start=$(date +%s)
  rc=0; wait "$WEB_PID" || rc=$?
  [ "$rc" = 0 ] || fail "SIG$sig: exit $rc"
  [ $(( $(date +%s) - start )) -le 3 ] || fail "SIG$sig: took more than 3 s"
  wait "$curl_pid" || true
  grep -q '^event: bye' "$T/ev" || fail "SIG$sig: no bye event"
  is_active keep || fail "SIG$sig: the task was touched"
done
pass "SIGTERM and SIGINT: exit 0, bye sent, task still running"
