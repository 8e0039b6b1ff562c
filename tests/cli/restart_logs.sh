#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# restart (stop as `stop` does, then start; inactive ones just start) and logs (-n, --stderr, -f across
# restarts, truncation and rotation), on the local backend.
source "$(dirname "$0")/common.sh"

json_pid() { "$SPMI" status "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["manageables"][0]["pid"])'; }

task_toml trap.toml traps "trap \"echo caught INT >> $T/marks; exit 5\" INT; echo up; while :; do sleep 0.1; done" local
task_toml deaf.toml deaf 'trap "" INT; echo up; while :; do sleep 0.1; done' local 'stop_timeout = 1'
task_toml idle.toml idle 'echo up; exec sleep 1000' local
run 0 load trap.toml deaf.toml idle.toml
run 0 start traps deaf
wait_for 5 grep -qx up "$SPMI_PATH/traps/stdout" || fail "traps did not start"
wait_for 5 grep -qx up "$SPMI_PATH/deaf/stdout" || fail "deaf did not start"

# An active one: its handler runs (graceful stop), then a new run with a new pid.
old=$(json_pid traps)
run 0 restart traps
err_has 'Restarting manageable "traps"'
err_has "Restarted 1 manageables"
grep -qx "caught INT" "$T/marks" || fail "restart did not stop traps gracefully"
new=$(json_pid traps)
[ -n "$new" ] && [ "$new" != None ] && [ "$new" != "$old" ] || fail "restart: pid $old -> $new"
! kill -0 "$old" 2>/dev/null || fail "old pid $old still alive after restart"
is_active traps || fail "traps not active after restart"
pass "restart stops gracefully and starts again"

# One that ignores SIGINT is killed after stop_timeout, then started again.
old=$(json_pid deaf)
run 0 restart deaf
err_has "manageable 'deaf' did not stop within 1 s; killing it"
[ "$(json_pid deaf)" != "$old" ] || fail "deaf kept its pid"
is_active deaf || fail "deaf not active after restart"
pass "restart escalates like stop"

# An inactive one is just started, and the log says so.
run 0 restart idle
err_has 'Manageable "idle" was inactive: started it'
is_active idle || fail "idle not active after restart"
pass "restart of an inactive manageable starts it"

# Pattern rules as stop/start: a pattern matching nothing fails (1), the others are still restarted.
old=$(json_pid idle)
run 1 restart idle nomatch
err_has "no loaded manageable matches 'nomatch'"
[ "$(json_pid idle)" != "$old" ] || fail "idle not restarted next to an unmatched pattern"
run 2 restart '('
pass "restart pattern and exit-status rules"

# --- logs ---
cat >lines.toml <<TOML
[task]
id = "lines"
[task.backend]
type = "local"
[task.wrapper]
type = "default"
command = 'for i in \$(seq 1 30); do echo line\$i; echo oops\$i >&2; done; exec sleep 1000'
TOML
task_toml quiet.toml quiet 'true' local
run 0 load lines.toml quiet.toml
run 0 start lines
wait_for 5 grep -qx line30 "$SPMI_PATH/lines/stdout" || fail "lines did not print"
run 0 logs lines
[ "$(cat "$T/out")" = "$(seq 21 30 | sed 's/^/line/')" ] || fail "logs: not the last 10 lines"
run 0 logs lines -n 3
[ "$(cat "$T/out")" = "$(printf 'line28\nline29\nline30')" ] || fail "logs -n 3"
run 0 logs lines -n 0
[ ! -s "$T/out" ] || fail "logs -n 0 printed something"
run 0 logs lines -n 100
[ "$(wc -l <"$T/out")" = 30 ] || fail "logs -n 100: not all 30 lines"
run 0 logs lines --stderr -n 2
[ "$(cat "$T/out")" = "$(printf 'oops29\noops30')" ] || fail "logs --stderr"
run 1 logs nope
err_has "no manageable 'nope' is loaded"
run 2 logs lines -n x
pass "logs -n, --stderr, unknown ID"

# -f against a loaded manageable whose output files this test writes itself, simulating the wrapper's
# rotation (rename stdout -> stdout.1, then a fresh stdout) and a truncation. (cli.output_rotation follows
# the real wrapper's rotations.)
out="$SPMI_PATH/quiet/stdout"
printf 'old1\nold2\n' >"$out"
"$SPMI" logs quiet -f -n 1 >"$T/follow" 2>"$T/follow.err" &
follower=$!
wait_for 5 grep -qx old2 "$T/follow" || fail "logs -f: no tail"
! grep -qx old1 "$T/follow" || fail "logs -f -n 1 printed two lines"
echo appended >>"$out"
wait_for 5 grep -qx appended "$T/follow" || fail "logs -f: did not follow an append"
echo last-before-rotation >>"$out"
mv "$out" "$out.1"
echo first-after-rotation >"$out"
wait_for 5 grep -qx first-after-rotation "$T/follow" || fail "logs -f: did not switch to the new stdout"
grep -qx last-before-rotation "$T/follow" || fail "logs -f: lost the end of the rotated file"
echo late-in-new >>"$out"
wait_for 5 grep -qx late-in-new "$T/follow" || fail "logs -f: did not keep following the new stdout"
: >"$out"
echo after-truncation >>"$out"
wait_for 5 grep -qx after-truncation "$T/follow" || fail "logs -f: did not restart after truncation"
expected=$(printf 'old2\nappended\nlast-before-rotation\nfirst-after-rotation\nlate-in-new\nafter-truncation')
[ "$(cat "$T/follow")" = "$expected" ] || { cat "$T/follow" >&2; fail "logs -f: output out of order or duplicated"; }
kill -INT "$follower"
rc=0; wait "$follower" || rc=$?
[ "$rc" = 0 ] || fail "logs -f exited $rc on SIGINT"
pass "logs -f follows appends, rotation and truncation; SIGINT ends it with 0"

# -f across a real restart of a running task, ended by SIGTERM.
"$SPMI" logs traps -f -n 1 >"$T/follow2" 2>/dev/null &
follower=$!
wait_for 5 grep -qx up "$T/follow2" || fail "logs -f: no tail of traps"
run 0 restart traps
wait_for 5 test "$(grep -cx up "$T/follow2")" = 2 || fail "logs -f: missed the restarted task's output"
kill -TERM "$follower"
rc=0; wait "$follower" || rc=$?
[ "$rc" = 0 ] || fail "logs -f exited $rc on SIGTERM"
pass "logs -f across a restart; SIGTERM ends it with 0"
echo "restart_logs: all passed"
