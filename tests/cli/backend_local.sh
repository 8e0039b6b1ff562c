#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The guide's walk-through on the local backend (no external program): the wrapper is a detached
# process of its own session, Backend ID is its pid; it outlives the CLI's session.
source "$(dirname "$0")/common.sh"

ppid_of() { awk '/^PPid:/ { print $2 }' "/proc/$1/status"; }
wrapper_pid() { sed -n 's/.*"wrapper_pid":\([0-9]*\).*/\1/p' "$SPMI_PATH/$1/run.json"; }
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" | cut -c1)" = Z ]; }  # a zombie is gone

task_toml m1.toml lt_m1 'echo 1; sleep 300' local
task_toml m2.toml lt_m2 'echo 2; sleep 300' local
task_toml m3.toml lt_m3 'trap "echo caught INT; exit 5" INT; echo 3; while :; do sleep 0.1; done' local
task_toml echo.toml lt_echo 'echo ready; while read line; do echo "got $line"; done' local
task_toml other.toml lt_other 'echo other' local

# load, list
run 0 load m1.toml m2.toml m3.toml echo.toml other.toml
err_has "Loaded 5 manageables"
run 0 list
grep -qE '^lt_m2 +inactive +- +- +- +Comment of lt_m2$' "$T/out" || fail "list row"
pass "load, list"

# start by regex: the four long-running ones, not lt_other.
run 0 start 'lt_(m[1-3]|echo)'
err_has "Started 4 manageables"
run 0 list
grep -qE '^lt_m1 +active' "$T/out" || fail "lt_m1 not active"
grep -qE '^lt_other +inactive' "$T/out" || fail "lt_other must not have started"
pass "start by regex"

# status: Backend type local, Backend ID = the wrapper's pid = the parent of the task's PID.
wait_for 5 grep -qx 1 "$SPMI_PATH/lt_m1/stdout" || fail "no output from lt_m1"
run 0 status lt_m1
out_has "Backend type: local"
grep -qE '^Backend ID: [0-9]+$' "$T/out" || fail "Backend ID"
backend_id=$(sed -n 's/^Backend ID: //p' "$T/out")
pid=$(sed -n 's/^PID: //p' "$T/out")
[ "$backend_id" = "$(wrapper_pid lt_m1)" ] || fail "Backend ID $backend_id is not the wrapper's pid $(wrapper_pid lt_m1)"
[ "$(ppid_of "$pid")" = "$backend_id" ] || fail "the task $pid is not a child of the wrapper $backend_id"
# Detached: its own session, no controlling terminal.
[ "$(ps -o sid= -p "$backend_id" | tr -d ' ')" = "$backend_id" ] || fail "the wrapper does not lead its own session"
[ "$(ps -o tty= -p "$backend_id" | tr -d ' ')" = "?" ] || fail "the wrapper has a controlling terminal"
tail -1 "$T/out" | grep -qx 1 || fail "last output line"
pass "status (Backend ID $backend_id, task $pid)"

# connect with piped input.
wait_for 5 grep -qx ready "$SPMI_PATH/lt_echo/stdout" || fail "lt_echo did not start"
rc=0
printf 'hello\nworld\n' | timeout 20 "$SPMI" connect lt_echo >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 0 ] || fail "connect exited $rc"
out_has "got hello"
out_has "got world"
is_active lt_echo || fail "connect must not end the task"
pass connect

# stop: SIGINT reaches the task (its handler runs), and a plain task ends by it.
wait_for 5 grep -qx 3 "$SPMI_PATH/lt_m3/stdout" || fail "lt_m3 did not start"
run 0 stop lt_m3
run 0 status lt_m3
out_has "caught INT"
out_has "Exit code: 5"
run 0 stop lt_m1
run 0 status lt_m1
out_has "Exit code: 130 (killed by SIGINT)"
! kill -0 "$pid" 2>/dev/null || fail "task $pid still running after stop"
wait_for 5 gone "$backend_id" || fail "wrapper $backend_id still running after stop"
pass stop

# kill
run 0 kill lt_m2
run 0 status lt_m2
out_has "Exit code: 137 (killed by SIGKILL)"
run 0 kill lt_echo
pass kill

# The task outlives the session of the CLI that started it: start from a shell in a new session that
# exits at once, then the task is still active and running.
setsid -w bash -c '"$0" start lt_m1 >/dev/null 2>&1' "$SPMI" </dev/null
wait_for 5 is_active lt_m1 || fail "lt_m1 not active after a start from a session that ended"
sleep 1
is_active lt_m1 || fail "lt_m1 ended with the CLI's session"
kill -0 "$(wrapper_pid lt_m1)" || fail "the wrapper is gone"
run 0 stop lt_m1
pass "survives the CLI's session"

# clean
run 0 start lt_other
wait_for 5 is_inactive lt_other || fail "lt_other did not finish"
run 0 status lt_other
out_has "Exit code: 0"
run 0 clean 'lt_.*'
err_has "Cleaned 5 manageables"
left=$(ls -A "$SPMI_PATH" | grep -vx '.store.lock' || true)  # the store's own lock file stays
[ -z "$left" ] || fail "state left after clean: $left"
pass clean

# Refused: a wrapper that dies before it writes its run record is reported at once (the wrapper is
# the launcher core watches), not after the start timeout; nothing is left active. Here the wrapper
# can't take its alive lock: it is handed a descriptor that is not its alive file, as a replacement for
# a killed wrapper would be (a planted symlink no longer does: `start` refuses it before launching).
task_toml broken.toml lt_broken 'sleep 300' local
run 0 load broken.toml
start=$(date +%s%N)
SPMI_ALIVE_FD=99 run 1 start lt_broken
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
err_has "manageable 'lt_broken': the backend's process (pid"
err_has "before the wrapper started"
[ "$elapsed" -lt 5000 ] || fail "a dead wrapper was noticed only after $elapsed ms"
run 0 status lt_broken
out_has "Active: inactive"
out_has "PID: -"
! pgrep -f "(__run|spmi-supervise) (.* )?$SPMI_PATH/lt_broken " >/dev/null || fail "a wrapper of lt_broken is running"
run 0 clean lt_broken
pass "a dead wrapper is reported at once ($elapsed ms)"

# An unknown key of the backend section is warned about, not fatal.
task_toml extra.toml lt_extra 'true' local
sed -i 's/^type = "local"$/type = "local"\nspeed = 3/' extra.toml
run 0 load extra.toml
err_has "extra.toml: task.backend.speed: ignoring unknown key 'speed'"
pass "unknown key"
echo "backend_local: all passed"
