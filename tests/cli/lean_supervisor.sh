#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The lean supervisor (core/src/run/lean.hpp): a default-wrapper task on the local backend is supervised
# by spmi-supervise (started by the backend with the settings `start` wrote), its watchdog waits as
# spmi-watchdog where that is built; the two cost far less memory than a full spmi; output, stop,
# recovery of a SIGKILLed supervisor work as with the in-process one; signals sent to it (SIGIO, its own
# output signal, too) reach the task; a supervise.json lost or cut short
# hands the run to `spmi __run`; $SPMI_SUPERVISE=inprocess, an untrusted spmi-supervise (writable by
# others) and a non-executable one keep supervision in the spmi process, the last two said in wrapper.log.
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
# Started as such by the backend (no `spmi __run` first), with the settings `start` wrote for this start.
tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "spmi-supervise --launched .*/lean " ||
  fail "the wrapper was not started as spmi-supervise --launched: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
[ "$(stat -c %a "$SPMI_PATH/lean/supervise.json")" = 600 ] || fail "supervise.json is not mode 0600"
pass "the backend started spmi-supervise itself (pid $pid), its settings in supervise.json (0600)"
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

# Settings written for another start: refused with the reason in wrapper.log, nothing run. None at all:
# `spmi __run` stands in (which finds lean's own wrapper running, and so starts nothing: exit 75).
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$SPMI_PATH/lean/supervise.json")
rc=0; "$lean_dir/spmi-supervise" --launched "$SPMI" "$SPMI_PATH/lean" "not-$token" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "spmi-supervise with another start's token exited $rc, not 1"
grep -q "supervise.json was written for another start than this one" "$SPMI_PATH/lean/wrapper.log" ||
  fail "wrapper.log does not say the settings are another start's: $(tail -2 "$SPMI_PATH/lean/wrapper.log")"
mv "$SPMI_PATH/lean/supervise.json" "$T/supervise.json"
rc=0; "$lean_dir/spmi-supervise" --launched "$SPMI" "$SPMI_PATH/lean" "$token" 2>"$T/err" || rc=$?
[ "$rc" = 75 ] || fail "spmi-supervise without supervise.json: exit $rc, not 75, $(cat "$T/err")"
grep -q "cannot open .*supervise.json.*; supervising through \`spmi __run\` instead" "$SPMI_PATH/lean/wrapper.log" ||
  fail "wrapper.log does not say why spmi __run stood in: $(tail -3 "$SPMI_PATH/lean/wrapper.log")"
mv "$T/supervise.json" "$SPMI_PATH/lean/supervise.json"
[ "$(wrapper_pid lean)" = "$pid" ] && is_active lean || fail "the refused supervisors disturbed the running one"
pass "settings of another start refused, none at all handed to spmi __run (wrapper.log says why), the running task untouched"

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

# Signals sent to the supervisor go to the task while its output flows: SIGUSR1, and SIGIO, the signal
# the kernel sends the supervisor when the task's output is ready (si_code > 0); one that a process sends
# (si_code <= 0) is the task's. Neither stops the output nor ends the supervisor.
task_toml "$T/sig.toml" sig "trap 'echo got-io' $(kill -l IO); trap 'echo got-usr1' $(kill -l USR1); while :; do echo tick; sleep 0.05; done" local
run 0 load "$T/sig.toml"
run 0 start sig
wait_for 5 is_active sig || fail "sig did not become active"
spid=$(wrapper_pid sig)
wait_for 5 is_exe "$spid" "$lean_dir/spmi-supervise" || fail "sig's wrapper $spid is $(exe_of "$spid")"
wait_for 5 grep -q tick "$SPMI_PATH/sig/stdout" || fail "sig's output did not arrive"
kill -IO "$spid"
wait_for 5 grep -q got-io "$SPMI_PATH/sig/stdout" || fail "a SIGIO sent to the supervisor did not reach the task"
kill -USR1 "$spid"
wait_for 5 grep -q got-usr1 "$SPMI_PATH/sig/stdout" || fail "a SIGUSR1 sent to the supervisor did not reach the task"
ticks=$(grep -c tick "$SPMI_PATH/sig/stdout")
more_ticks() { [ "$(grep -c tick "$SPMI_PATH/sig/stdout")" -gt "$ticks" ]; }
wait_for 5 more_ticks || fail "the output stopped after the signals"
[ "$(wrapper_pid sig)" = "$spid" ] && ! dead "$spid" || fail "the supervisor $spid did not survive the signals"
run 0 stop sig
wait_for 5 is_inactive sig || fail "stop did not end sig"
pass "SIGIO and SIGUSR1 sent to the supervisor reach the task, its output goes on, stop ends it"

# supervise.json cut short between `start` and the supervisor's run (as a crash can leave it for a queued
# job): the run goes on through `spmi __run`, with the settings of the manageable itself.
printf '{"token": "%s", "comm' "$token" >"$SPMI_PATH/lean/supervise.json"
(cd / && exec setsid "$lean_dir/spmi-supervise" --launched "$SPMI" "$SPMI_PATH/lean" "$token" </dev/null >/dev/null 2>&1 &)
wait_for 5 is_active lean || fail "lean did not run with supervise.json cut short"
wait_for 5 lean_wrapper || fail "the stand-in spmi __run did not become the lean supervisor: $(exe_of "$(wrapper_pid lean)")"
grep -q "supervise.json is not as \`spmi start\` wrote it: .*; supervising through \`spmi __run\` instead" \
  "$SPMI_PATH/lean/wrapper.log" || fail "wrapper.log does not say why: $(tail -3 "$SPMI_PATH/lean/wrapper.log")"
wait_for 5 pgrep -f "^sleep 1000.$TAG\$" >/dev/null || fail "the task did not run"
run 0 stop lean
pgrep -f "^sleep 1000.$TAG\$" >/dev/null && fail "a task process survived stop"
pass "supervise.json cut short: spmi __run supervises with the manageable's own settings, stop ends it"

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

# One that is installed but not executable: supervision stays in spmi, said in wrapper.log; `start` works.
chmod g-w,a-x "$prefix/libexec/spmi/spmi-supervise"
run 0 start lean
wait_for 5 is_active lean || fail "lean did not start with a non-executable spmi-supervise"
sleep 0.3
[ "$(exe_of "$(wrapper_pid lean)")" = "$(readlink -f "$SPMI")" ] || fail "the wrapper is $(exe_of "$(wrapper_pid lean)")"
grep -q "supervising in this process: cannot execute the lean supervisor .*spmi-supervise: Permission denied" \
  "$SPMI_PATH/lean/wrapper.log" || fail "wrapper.log does not say why: $(tail -3 "$SPMI_PATH/lean/wrapper.log")"
run 0 stop lean
pass "a non-executable spmi-supervise: supervision in spmi, wrapper.log says why"
