#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The lean supervisor (core/src/run/lean.hpp): a default-wrapper task on the local backend is supervised
# by spmi-supervise (the wrapper process, same pid, after it read its settings), its watchdog waits as
# spmi-watchdog where that is built; the two cost far less memory than a full spmi; output, stop,
# recovery of a SIGKILLed supervisor work as with the in-process one; $SPMI_SUPERVISE=inprocess and an
# untrusted spmi-supervise (writable by others) keep supervision in the spmi process, the latter said in
# wrapper.log.
source "$(dirname "$0")/common.sh"
: "${SPMI_BUILD_DIR:?SPMI_BUILD_DIR must name the build directory}"
lean_dir="$SPMI_BUILD_DIR/libexec/spmi"
[ -x "$lean_dir/spmi-supervise" ] || fail "no spmi-supervise in $lean_dir"

wrapper_pid() { "$SPMI" status "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["manageables"][0]["wrapper_pid"] or "")'; }
exe_of() { readlink "/proc/$1/exe"; }
watchdog_of() { pgrep -P "$1" -f 'watchdog' | head -1; }
is_exe() { [ "$(exe_of "$1")" = "$(readlink -f "$2")" ]; }   # PID PROGRAM
lean_wrapper() { is_exe "$(wrapper_pid lean)" "$lean_dir/spmi-supervise"; }
has_watchdog() { [ -n "$(watchdog_of "$1")" ]; }
dead() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }   # gone or a zombie
restarted() { pgrep -f "^sleep 1000.$TAG\$" | grep -qvx "$task"; }

task_toml "$T/lean.toml" lean "echo started-\$SPMI_ID; exec sleep 1000.$TAG" local 'restart = "always"' 'restart_delay = "0.2s"'
run 0 load "$T/lean.toml"
run 0 start lean
wait_for 5 is_active lean || fail "lean did not become active"
pid=$(wrapper_pid lean)
[ -n "$pid" ] || fail "no wrapper pid in status --json"
wait_for 5 is_exe "$pid" "$lean_dir/spmi-supervise" || fail "the wrapper $pid is $(exe_of "$pid"), not spmi-supervise"
pass "the wrapper process became spmi-supervise (pid $pid kept)"
wait_for 5 has_watchdog "$pid" || fail "no watchdog under $pid"
dog=$(watchdog_of "$pid")
if [ -x "$lean_dir/spmi-watchdog" ]; then
  wait_for 5 is_exe "$dog" "$lean_dir/spmi-watchdog" || fail "the watchdog $dog is $(exe_of "$dog")"
  pass "its watchdog waits as spmi-watchdog"
fi
wait_for 5 grep -q "started-lean" "$SPMI_PATH/lean/stdout" || fail "the task's output did not arrive"
run 0 logs lean
out_has "started-lean"
pass "output reaches stdout and logs"
if [ -z "${SPMI_TEST_SANITIZED:-}" ]; then
  kib=0
  for p in $pid $dog; do kib=$((kib + $(awk '/^Pss_Anon:/{print $2}' "/proc/$p/smaps_rollup"))); done
  # The full spmi wrapper and its forked watchdog took ~710 KiB of anonymous memory.
  [ "$kib" -lt 300 ] || fail "supervisor and watchdog use $kib KiB of anonymous memory (PSS), not under 300"
  pass "supervisor and watchdog: $kib KiB of anonymous memory (PSS)"
fi

# A SIGKILLed lean supervisor is replaced (restart = always): a new wrapper, lean again, runs the task.
task=$(pgrep -f "^sleep 1000.$TAG\$" | head -1)
kill -9 "$pid"
wait_for 10 restarted || fail "the task did not start again after its supervisor was killed"
dead "$task" || fail "the old task $task survived its supervisor's death"
is_active lean || fail "lean is not active after the recovery"
wait_for 5 lean_wrapper || fail "the replacement wrapper is $(exe_of "$(wrapper_pid lean)")"
pass "a SIGKILLed supervisor: old task ended, task started again under a new lean supervisor"
run 0 stop lean
wait_for 5 is_inactive lean || fail "stop did not end lean"
pgrep -f "^sleep 1000.$TAG\$" >/dev/null && fail "a task process survived stop"
pass "stop ends it"

# $SPMI_SUPERVISE=inprocess: the spmi process supervises.
SPMI_SUPERVISE=inprocess run 0 start lean
wait_for 5 is_active lean || fail "lean did not become active in process"
sleep 0.3
[ "$(exe_of "$(wrapper_pid lean)")" = "$(readlink -f "$SPMI")" ] || fail "with SPMI_SUPERVISE=inprocess the wrapper is $(exe_of "$(wrapper_pid lean)")"
run 0 stop lean
pass "SPMI_SUPERVISE=inprocess keeps supervision in spmi"

# An installed spmi whose spmi-supervise others can write: not executed, said in wrapper.log.
install_sdk
chmod g+w "$prefix/libexec/spmi/spmi-supervise"
run 0 start lean
wait_for 5 is_active lean || fail "lean did not start with an untrusted spmi-supervise"
sleep 0.3
[ "$(exe_of "$(wrapper_pid lean)")" = "$(readlink -f "$SPMI")" ] || fail "an untrusted spmi-supervise was executed"
grep -q "supervising in this process: the lean supervisor .* is writable by other users" "$SPMI_PATH/lean/wrapper.log" ||
  fail "wrapper.log does not say why: $(tail -3 "$SPMI_PATH/lean/wrapper.log")"
run 0 stop lean
pass "an untrusted spmi-supervise is refused, and wrapper.log says why"
