#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `kill` never waits behind a pending `stop` (issue #13, point 6): while a stop waits out a long
# stop_timeout holding the manageable's lock, a kill takes over at once; the stop then reports that the
# task was killed and exits 0, without escalating on its own. On every backend that is installed.
source "$(dirname "$0")/common.sh"

# A private tmux directory: this test's tmux server is its own and is ended with it.
export TMUX_TMPDIR="$T"
unset TMUX TMUX_PANE
takeover_cleanup() {
  "$SPMI" kill '.*' >/dev/null 2>&1 || true
  tmux -L spmi kill-server 2>/dev/null || true
  cleanup
}
trap takeover_cleanup EXIT

# How long the kill may take: the task ends at once on its kill request.
bound_ms=3000
[ -z "${SPMI_TEST_SANITIZED:-}" ] || bound_ms=15000
backends=(local)
command -v screen >/dev/null 2>&1 && backends+=(screen)
command -v tmux >/dev/null 2>&1 && backends+=(tmux)

for backend in "${backends[@]}"; do
  id="deaf_$backend"
  # One shell that ignores SIGINT (as does its sleep, which inherits that), so only a kill ends it.
  task_toml "$id.toml" "$id" "trap \"\" INT; echo up; while :; do sleep 1061.$TAG; done" "$backend" 'stop_timeout = 60'
  run 0 load "$id.toml"
  run 0 start "$id"
  wait_for 5 grep -qx up "$SPMI_PATH/$id/stdout" || fail "$backend: the task did not start"

  ( rc=0; "$SPMI" stop "$id" >"$T/stop.out" 2>"$T/stop.err" </dev/null || rc=$?; echo "$rc" >"$T/stop.rc" ) &
  stop_job=$!
  # launch.json says ended_by "stop" just before the stop signals; give the signal a moment to land.
  wait_for 5 grep -q '"ended_by": *"stop"' "$SPMI_PATH/$id/launch.json" || fail "$backend: the stop did not begin"
  sleep 0.3
  is_active "$id" || fail "$backend: the task ignoring SIGINT ended on the stop signal"

  start=$(date +%s%N)
  rc=0
  timeout 30 "$SPMI" kill "$id" >"$T/out" 2>"$T/err" </dev/null || rc=$?
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$rc" = 0 ] || fail "$backend: kill during a stop exited $rc"
  [ "$elapsed" -le "$bound_ms" ] || fail "$backend: kill waited behind the stop ($elapsed ms)"
  err_has "Killed 1 manageables"
  [ "$(pgrep -fc "1061.$TAG")" = 0 ] || fail "$backend: task processes left after the kill: $(pgrep -fa "1061.$TAG")"

  wait_for 5 test -s "$T/stop.rc" || fail "$backend: the stop did not end after the kill"
  wait "$stop_job"
  [ "$(cat "$T/stop.rc")" = 0 ] || { cat "$T/stop.err" >&2; fail "$backend: the overtaken stop exited $(cat "$T/stop.rc")"; }
  grep -qF "manageable '$id' was killed by \`spmi kill\` while it was being stopped" "$T/stop.err" ||
    { cat "$T/stop.err" >&2; fail "$backend: the stop does not say the task was killed"; }
  grep -qF "Stopped 1 manageables" "$T/stop.err" || fail "$backend: the stop does not count it as ended"
  ! grep -qE 'ERROR|killing the wrapper|did not stop within' "$T/stop.err" ||
    { cat "$T/stop.err" >&2; fail "$backend: the overtaken stop escalated or failed"; }

  run 0 status "$id"
  grep -qE '^State: +inactive' "$T/out" || out_has "inactive"
  grep -q '"ended_by": *"kill"' "$SPMI_PATH/$id/launch.json" || fail "$backend: launch.json does not say the kill ended it"
  rm -f "$T/stop.rc"
  pass "$backend: kill takes over a pending stop in $elapsed ms; the stop reports it"
done

# A kill at the moment the stop escalates by itself (stop_timeout = 1): both may signal, and neither
# reports a false failure. The kill may also come just after the task ended: then it finds nothing to
# kill, as any kill of an inactive manageable does.
task_toml race.toml deaf_race "trap \"\" INT; echo up; while :; do sleep 1062.$TAG; done" local 'stop_timeout = 1'
run 0 load race.toml
for round in 1 2 3 4 5; do
  run 0 start deaf_race
  wait_for 5 grep -qx up "$SPMI_PATH/deaf_race/stdout" || fail "race $round: the task did not start"
  ( rc=0; "$SPMI" stop deaf_race >/dev/null 2>"$T/stop.err" </dev/null || rc=$?; echo "$rc" >"$T/stop.rc" ) &
  stop_job=$!
  sleep "0.9$round"
  rc=0
  "$SPMI" kill deaf_race >"$T/out" 2>"$T/err" </dev/null || rc=$?
  [ "$rc" = 0 ] || { [ "$rc" = 1 ] && err_has "inactive; nothing to kill"; } || fail "race $round: kill exited $rc"
  wait "$stop_job"
  [ "$(cat "$T/stop.rc")" = 0 ] || { cat "$T/stop.err" >&2; fail "race $round: the stop exited $(cat "$T/stop.rc")"; }
  ! grep -q ERROR "$T/stop.err" || { cat "$T/stop.err" >&2; fail "race $round: the stop reported an error"; }
  [ "$(pgrep -fc "1062.$TAG")" = 0 ] || fail "race $round: task processes left: $(pgrep -fa "1062.$TAG")"
done
pass "kill racing the stop's own escalation: no false failure"
echo "stop_kill_takeover: all passed"
