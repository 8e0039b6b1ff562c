#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faults done for real: a SIGKILLed wrapper, a task killed from outside, whole trees under stop and
# kill, and state left from a crash or reboot. Afterwards no process of a task may remain.
source "$(dirname "$0")/common.sh"
need screen

wrapper_pid() { sed -n 's/.*"wrapper_pid":\([0-9]*\).*/\1/p' "$SPMI_PATH/$1/run.json"; }
left() { pgrep -f "^sleep 10$1[0-9]\.$TAG\$" || true; }   # task processes still alive, by marker
none_left() { [ -z "$(left "$1")" ]; }

# A tree: a background child, a subshell's child, a setsid daemon, and the foreground sleep.
tree() { echo "sleep 10${1}1.$TAG & (sleep 10${1}2.$TAG &); setsid sleep 10${1}3.$TAG & echo up; sleep 10${1}4.$TAG"; }

# 1. The wrapper is SIGKILLed: the task does not live on, status says inactive and why.
task_toml w.toml wrapped "$(tree 1)"
run 0 load w.toml
run 0 start wrapped
wait_for 5 grep -qx up "$SPMI_PATH/wrapped/stdout" || fail "wrapped did not start"
wait_for 5 sh -c "[ \$(pgrep -fc '^sleep 101[1-4]\.$TAG\$') = 4 ]" || fail "tree of wrapped not complete: $(left 1)"
kill -9 "$(wrapper_pid wrapped)"
wait_for 10 is_inactive wrapped || fail "wrapped still active after its wrapper was killed"
wait_for 5 none_left 1 || fail "processes left after the wrapper was killed: $(ps -o pid,args -p "$(left 1 | paste -sd,)")"
run 0 status wrapped
out_has "Active: inactive"
out_has "Note: the wrapper (pid"
out_has "was killed; spmi ended the task's processes"
pass "SIGKILL of the wrapper"

# 2. The task is killed from outside: status shows the signal.
task_toml o.toml outside "sleep 1050.$TAG"
run 0 load o.toml
run 0 start outside
pid=$(sed -n 's/^PID: //p' <("$SPMI" status outside 2>/dev/null))
kill -TERM "$pid"
wait_for 5 is_inactive outside || fail "outside still active"
run 0 status outside
out_has "Exit code: 143 (killed by SIGTERM)"
pass "task killed from outside"

# 3. stop ends the whole tree: background, subshell and setsid children included.
task_toml s.toml stopped "$(tree 2)"
run 0 load s.toml
run 0 start stopped
wait_for 5 sh -c "[ \$(pgrep -fc '^sleep 102[1-4]\.$TAG\$') = 4 ]" || fail "tree of stopped not complete"
run 0 stop stopped
none_left 2 || fail "processes left after stop: $(left 2)"
run 0 status stopped
out_has "Exit code: 130 (killed by SIGINT)"
pass "stop ends the tree"

# 4. kill ends the whole tree at once.
task_toml k.toml killed "$(tree 3)"
run 0 load k.toml
run 0 start killed
wait_for 5 sh -c "[ \$(pgrep -fc '^sleep 103[1-4]\.$TAG\$') = 4 ]" || fail "tree of killed not complete"
run 0 kill killed
none_left 3 || fail "processes left after kill: $(left 3)"
pass "kill ends the tree"

# 5. When the main process exits by itself, its leftovers are ended too.
task_toml l.toml leftovers "sleep 1041.$TAG & setsid sleep 1042.$TAG & echo done"
run 0 load l.toml
run 0 start leftovers
wait_for 10 is_inactive leftovers || fail "leftovers still active"
none_left 4 || fail "leftovers survived their task: $(left 4)"
run 0 status leftovers
out_has "Exit code: 0"
pass "leftovers ended"

# 6. State from before a reboot (a run record without an end, no wrapper holding the lock), naming a
# pid that is alive but unrelated: never reported active.
task_toml r.toml rebooted 'true'
run 0 load r.toml
printf '{"token":"old","wrapper_pid":%d,"pid":%d,"started_at":1700000000.0,"finished_at":null,"exit_code":null,"exit_signal":null,"error":""}\n' $$ $$ > "$SPMI_PATH/rebooted/run.json"
run 0 list
grep -qE '^rebooted +inactive' "$T/out" || fail "stale run shown active"
run 0 status rebooted
out_has "Active: inactive"
out_has "Note: the wrapper ended without recording how the task ended"
run 1 stop rebooted
run 0 start rebooted
pass "stale state is not active"

# 7. A corrupted state file is reported; the other manageables still list and show.
task_toml c.toml corrupt 'true'
run 0 load c.toml
echo 'garbage{' > "$SPMI_PATH/corrupt/manageable.json"
echo 'garbage{' > "$SPMI_PATH/rebooted/run.json"
run 1 list
grep -qE '^corrupt +unknown +error: .*corrupt state file' "$T/out" || fail "corrupt row"
grep -qE '^outside +inactive' "$T/out" || fail "other rows must still list"
run 1 status '.*'
err_has "corrupt state file"
out_has "outside (task)"
# ... and can be cleaned away.
run 0 clean corrupt rebooted
pass "corrupt state is contained"
# 8. A task that starts another spmi task: the inner one is not part of the outer one's tree.
task_toml inner.toml inner "echo inner up; sleep 1081.$TAG" local
task_toml outer.toml outer "\"$SPMI\" start inner; echo outer done" local
run 0 load inner.toml outer.toml
run 0 start outer
wait_for 10 is_inactive outer || fail "outer did not finish"
wait_for 5 grep -qx "inner up" "$SPMI_PATH/inner/stdout" || fail "inner did not start"
sleep 2.5  # past the outer wrapper's leftover grace
is_active inner || fail "the inner task was ended with the outer one"
run 0 stop inner
pass "nested start"
echo "faults: all passed"
