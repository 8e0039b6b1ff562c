#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `connect` for scripts (local backend; connect_script_screen.sh: screen): against a task that answers
# after 1.5 s, the piped connect of before (return after ~0.3 s of quiet) loses the answer, --until
# returns with it (exit 0) as soon as it arrives; --no-history replays nothing; --timeout exits 124;
# the task ending before a match exits 6; an inactive task 1; a bad expression 2.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

now_ms() { date +%s%3N; }
# piped EXPECTED_RC INPUT spmi-args...: `printf INPUT | spmi ARGS`, output in $T/out and $T/err, its
# time in $elapsed (ms).
piped() {
  local want=$1 input=$2; shift 2
  local rc=0 t0
  t0=$(now_ms)
  printf "$input" | "$SPMI" "$@" >"$T/out" 2>"$T/err" || rc=$?
  elapsed=$(($(now_ms) - t0))
  [ "$rc" = "$want" ] || fail "printf '$input' | spmi $* exited $rc, expected $want"
}

task_toml slow.toml slow 'echo ready; while read l; do sleep 1.5; echo "got $l"; done' "$BACKEND"
task_toml ender.toml ender 'read l; sleep 0.5; echo "bye $l"' "$BACKEND"
run 0 load slow.toml ender.toml
run 0 start slow
wait_for 10 grep -q ready "$SPMI_PATH/slow/stdout" || fail "slow did not start"

# Before: the answer comes after the quiet heuristic gave up.
piped 0 'alpha\n' connect slow
out_has "ready"
out_lacks "got alpha"
[ "$elapsed" -lt 1400 ] || fail "plain connect took $elapsed ms"
wait_for 10 grep -q "got alpha" "$SPMI_PATH/slow/stdout" || fail "the answer never came"
pass "plain piped connect returns before a 1.5 s answer (the answer is lost to it)"

# --until: waits for the answer and returns as soon as it is there; --no-history: no old output.
piped 0 'bravo\n' connect --no-history --until '^got bravo$' slow
out_has "got bravo"
out_lacks "ready"
out_lacks "got alpha"
[ "$elapsed" -ge 1400 ] && [ "$elapsed" -lt 3000 ] || fail "--until took $elapsed ms, expected about 1.5 s"
pass "--until returns with the slow answer (exit 0), --no-history replays nothing"

# Output from before the input was sent does not match.
piped 124 'charlie\n' connect --until 'got alpha' --timeout 2.5 slow
out_has "got alpha"  # replayed history, shown but not an answer
err_has "manageable 'slow': --timeout 2.5 s passed before its output matched --until; detached"
[ "$elapsed" -ge 2400 ] && [ "$elapsed" -lt 4000 ] || fail "--timeout 2.5 took $elapsed ms"
pass "--until matches only output after the input; --timeout exits 124"

# --timeout alone bounds even an interactive-looking wait for input that never ends.
rc=0
t0=$(now_ms)
"$SPMI" connect --timeout 0.5 slow >"$T/out" 2>"$T/err" < <(sleep 5) || rc=$?
elapsed=$(($(now_ms) - t0))
[ "$rc" = 124 ] || fail "--timeout 0.5 with open input exited $rc"
[ "$elapsed" -lt 2000 ] || fail "--timeout 0.5 took $elapsed ms"
err_has "--timeout 0.5 s passed; detached"
pass "--timeout alone: exit 124"

# The task ends before its output matched: 6.
run 0 start ender
piped 6 'delta\n' connect --no-history --until 'never printed' ender
out_has "bye delta"
err_has 'Manageable "ender" ended'
# Not active: 1, as before; a bad expression: 2, before anything is sent.
piped 1 'echo\n' connect --until 'x' ender
err_has "inactive"
piped 2 'echo\n' connect --until '(' slow
err_has "--until '(' is not a valid regular expression (RE2 syntax)"
piped 2 'echo\n' connect --timeout -1 slow
err_has "--timeout must be a positive number of seconds"
pass "task ended before a match: 6; inactive: 1; bad --until or --timeout: 2"
run 0 stop slow
echo "connect_script ($BACKEND): all passed"
