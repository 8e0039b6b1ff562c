#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `spmi wait` (local backend; wait_screen.sh: screen): returns when every selected task has ended, with
# 0 when all exited 0, else the code of the first (in ID order) that did not (128 + signal when killed;
# 1 for one that never ran); --timeout exits 124 and leaves the tasks running; unmatched patterns are
# refused as by the other verbs; SIGINT ends it by that signal (the shell's 130).
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

now_ms() { date +%s%3N; }
# timed EXPECTED_RC MIN_MS MAX_MS args...: run, and check how long it took.
timed() {
  local rc=$1 min=$2 max=$3; shift 3
  local t0; t0=$(now_ms)
  run "$rc" "$@"
  elapsed=$(($(now_ms) - t0))
  [ "$elapsed" -ge "$min" ] && [ "$elapsed" -le "$max" ] || fail "spmi $* took $elapsed ms, expected $min to $max"
}

task_toml one.toml one "sleep 1; exit 0" "$BACKEND"
task_toml two.toml two "sleep 2; exit 3" "$BACKEND"
task_toml long.toml long "exec sleep 1601.$TAG" "$BACKEND"
task_toml never.toml never "true" "$BACKEND"
task_toml x-a.toml x-a "exit 5" "$BACKEND"
task_toml x-b.toml x-b "exit 7" "$BACKEND"
run 0 load one.toml two.toml long.toml never.toml x-a.toml x-b.toml

run 0 start one two
timed 3 1500 4500 wait one two
err_has 'Manageable "one" exited with 0'
err_has 'Manageable "two" exited with 3'
pass "wait on two tasks returns when both ended (${elapsed} ms), with the failing one's code"

timed 0 0 900 wait one
err_has 'Manageable "one" exited with 0'
pass "wait on a finished task returns at once (${elapsed} ms) with 0"

run 0 start x-a x-b
timed 5 0 3000 wait 'x-.*'
pass "the first failure in ID order gives the code (x-a: 5, not x-b: 7)"

run 0 start long
timed 124 900 2500 wait long --timeout 1
err_has "timed out after 1 s; still running: long"
is_active long || fail "long did not keep running after the timeout"
timed 124 0 1500 wait long --timeout 0.2
pass "--timeout exits 124 (${elapsed} ms) and the task keeps running"

# SIGINT ends the wait by that signal (a shell reports 130); the task keeps running. Python starts it
# with SIGINT at its default, which a non-interactive shell's background job would not have.
python3 - "$SPMI" <<'PY' || fail "SIGINT did not end spmi wait"
import signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "wait", "long"], stderr=subprocess.DEVNULL,
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
time.sleep(0.5)
if p.poll() is not None:
    sys.exit("spmi wait ended before the SIGINT: %s" % p.returncode)
p.send_signal(signal.SIGINT)
rc = p.wait(timeout=5)
sys.exit(0 if rc == -signal.SIGINT else "spmi wait ended with %s, not by SIGINT" % rc)
PY
is_active long || fail "long did not keep running after the SIGINT"
pass "SIGINT ends spmi wait (130 in a shell)"

run 0 kill long
run 137 wait long
err_has 'Manageable "long" was ended by SIGKILL (137)'
pass "a killed task gives 137"

run 1 wait never
err_has 'Manageable "never" has no exit: it never ran (it was never started) (counted as 1)'
pass "a task that never ran counts as 1"

run 1 wait one nothing
err_has "no loaded manageable matches 'nothing' (see \`spmi list\`)"
run 2 wait '('
err_has "invalid pattern '('"
run 2 wait
pass "unmatched (1) and invalid (2) patterns, as the other verbs"
echo "wait ($BACKEND): all passed"
