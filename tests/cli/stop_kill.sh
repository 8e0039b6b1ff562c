#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# stop is graceful (SIGINT, or stop_signal), then kills after stop_timeout; kill is SIGKILL at once.
source "$(dirname "$0")/common.sh"
need screen

task_toml trap.toml traps 'trap "echo caught INT; exit 5" INT; echo up; while :; do sleep 0.1; done'
task_toml deaf.toml deaf 'trap "" INT; echo up; while :; do sleep 0.1; done' screen 'stop_timeout = 1'
task_toml term.toml termed 'trap "echo caught TERM; exit 6" TERM; echo up; while :; do sleep 0.1; done' screen 'stop_signal = "SIGTERM"'
task_toml hard.toml hard 'trap "echo never" INT TERM; echo up; while :; do sleep 0.1; done'
run 0 load trap.toml deaf.toml term.toml hard.toml
run 0 start traps deaf termed hard
for id in traps deaf termed hard; do
  wait_for 5 grep -qx up "$SPMI_PATH/$id/stdout" || fail "$id did not start"
done

# The task's own SIGINT handler runs: the guide's ^C.
run 0 stop traps
run 0 status traps
out_has "Exit code: 5"
out_has "caught INT"
pass "stop sends SIGINT"

# stop_signal changes the graceful signal.
run 0 stop termed
run 0 status termed
out_has "Exit code: 6"
out_has "caught TERM"
pass "stop_signal"

# A task that ignores SIGINT is killed after stop_timeout.
start=$(date +%s%N)
run 0 stop deaf
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
err_has "manageable 'deaf' did not stop within 1 s; killing it"
[ "$elapsed" -ge 900 ] || fail "stop did not wait for stop_timeout ($elapsed ms)"
run 0 status deaf
out_has "Exit code: 137 (killed by SIGKILL)"
pass "stop escalates after stop_timeout ($elapsed ms)"

# kill does not wait for handlers.
pid=$(sed -n 's/^PID: //p' <("$SPMI" status hard 2>/dev/null))
run 0 kill hard
run 0 status hard
out_has "Exit code: 137 (killed by SIGKILL)"
! grep -qx never "$SPMI_PATH/hard/stdout" || fail "a handler ran on kill"
! kill -0 "$pid" 2>/dev/null || fail "pid $pid still alive after kill"
pass kill
echo "stop_kill: all passed"
