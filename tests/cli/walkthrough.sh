#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The user guide's walk-through, command by command, with real GNU screen.
source "$(dirname "$0")/common.sh"
need screen

task_toml m1.toml manageable_1 'echo 1; sleep 300'
task_toml m2.toml manageable_2 'echo 2; sleep 300'
task_toml m3.toml manageable_3 'echo 3; sleep 300'
task_toml other.toml other 'echo other'

# load: one file, then several in one call; the guide's log lines.
run 0 load m1.toml
err_has "Loaded 1 manageable"
grep -qE '^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3} - Spmi - INFO\]$' "$T/err" || fail "log header not in the guide's form"
run 0 load m2.toml m3.toml other.toml
err_has "Loaded 3 manageables"
pass load

# list: the ID ACTIVE COMMENT table (with CPU, MEM, UPTIME columns added), every manageable inactive.
run 0 list
err_has "Registered 4 manageables"
head -1 "$T/out" | grep -qE '^ID +ACTIVE +CPU +MEM +UPTIME +COMMENT$' || fail "list header"
grep -qE '^manageable_2 +inactive +- +- +- +Comment of manageable_2$' "$T/out" || fail "list row"
pass list

# start by regex: exactly the three that match, each logged.
run 0 start 'manageable_[1-3]'
for i in 1 2 3; do err_has "Starting manageable \"manageable_$i\""; done
err_has "Started 3 manageables"
run 0 list
grep -qE '^manageable_1 +active' "$T/out" || fail "manageable_1 not active after start"
grep -qE '^other +inactive' "$T/out" || fail "other must not have started"
pass "start by regex"

# status: the guide's layout, then the task's output.
wait_for 5 grep -qx 1 "$SPMI_PATH/manageable_1/stdout" || fail "no output from manageable_1"
run 0 status manageable_1
out_has "manageable_1 (task) - Comment of manageable_1"
grep -qE '^Active: active since [0-9-]{10} [0-9:]{8} \([0-9]+:[0-9]{2}:[0-9]{2} ago\)$' "$T/out" || fail "Active line"
out_has "Path: \"$SPMI_PATH/manageable_1\""
out_has "Backend type: screen"
grep -qE '^Backend ID: [0-9]+$' "$T/out" || fail "Backend ID"
out_has "Wrapper type: default"
out_has "Command: echo 1; sleep 300"
grep -qE '^PID: [0-9]+$' "$T/out" || fail "PID"
out_has "Exit code: -"
tail -1 "$T/out" | grep -qx 1 || fail "last output line"
err_has "Showed 1 manageables"
# Backend ID is the screen session's pid, and that screen session exists.
backend_id=$(sed -n 's/^Backend ID: //p' "$T/out")
screen -ls | grep -q "$backend_id.spmi.manageable_1" || fail "no screen session $backend_id.spmi.manageable_1"
pid=$(sed -n 's/^PID: //p' "$T/out")
kill -0 "$pid" || fail "task pid $pid not running"
pass status

# stop: graceful, the task ends by SIGINT; the guide's lines.
run 0 stop manageable_1
err_has "Stopping manageable \"manageable_1\""
err_has "Stopped 1 manageables"
run 0 status manageable_1
grep -qE '^Active: inactive since' "$T/out" || fail "inactive after stop"
out_has "Exit code: 130 (killed by SIGINT)"
! kill -0 "$pid" 2>/dev/null || fail "task $pid still running after stop"
wait_for 5 sh -c "! screen -ls | grep -q '$backend_id.spmi.manageable_1'" || fail "screen session left after stop"
pass stop

# kill: at once.
run 0 kill manageable_2
err_has "Killing manageable \"manageable_2\""
err_has "Killed 1 manageables"
run 0 status manageable_2
out_has "Exit code: 137 (killed by SIGKILL)"
pass kill

# A task that ends by itself: exit code 0, output shown.
run 0 start other
wait_for 5 is_inactive other || fail "other did not finish"
run 0 status other
out_has "Exit code: 0"
tail -1 "$T/out" | grep -qx other || fail "other's output"
pass "finished task"

# clean: removes inactive ones; nothing of them is left (the store's own lock file stays).
run 0 stop manageable_3
run 0 clean 'manageable_.*' other
err_has "Cleaned 4 manageables"
left=$(ls -A "$SPMI_PATH" | grep -vx '.store.lock' || true)
[ -z "$left" ] || fail "state left after clean: $left"
run 0 list
err_has "Registered 0 manageables"
pass clean
echo "walkthrough: all passed"
