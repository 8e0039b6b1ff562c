#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A plugin that crashes the process (a null pointer written, a stack overflow, abort) is named in one
# line on stderr (plugin file, class, call, manageable, signal) before the process dies of that signal
# (exit 128+signal in the shell: the status stays honest). The state stays consistent: the manageable
# is inactive and startable, list/status/clean work. In the wrapper process the line goes to
# wrapper.log too, and `start` reports it. The plugins are the faulty fixtures (fault.hpp).
source "$(dirname "$0")/common.sh"
: "${SPMI_BUILD_DIR:?SPMI_BUILD_DIR must name the build directory (its fixture plugins)}"
ulimit -c 0  # the crashes are on purpose: no core files

PLUGINS="$T/plugins"
mkdir -m 0755 "$PLUGINS"
cp "$SPMI_BUILD_DIR/tests/fixtures/plugins/faulty/spmi_test_faulty.so" "$PLUGINS/"
SO="$PLUGINS/spmi_test_faulty.so"
export SPMI_PLUGIN_PATH="$PLUGINS"

faulty_toml() {  # faulty_toml FILE ID TOP WRAPPER_TYPE
  printf '[%s]\nid = "%s"\n[%s.backend]\ntype = "faulty"\n[%s.wrapper]\ntype = "%s"\ncommand = "sleep 1200.%s"\n' \
    "$3" "$2" "$3" "$3" "$4" "$TAG" >"$1"
}
faulty_toml web.toml web task default
faulty_toml fm.toml fm faulty default
faulty_toml w.toml w task faulty
run 0 load web.toml fm.toml w.toml

# crash RC CLASS CALL ID KIND SIGNAL spmi-args...: with that fault spmi dies of SIGNAL (exit RC), and
# stderr has exactly one line naming it.
crash() {
  local rc=$1 class=$2 call=$3 id=$4 kind=$5 signal=$6; shift 6
  local fault_call=$call
  [ "$call" = "its destructor" ] && fault_call=destroy
  SPMI_TEST_FAULT="$class.$fault_call=$kind" run "$rc" "$@"
  local line="spmi: plugin $SO (class $class) crashed in $call (manageable '$id'): $signal"
  [ "$(grep -cxF -- "$line" "$T/err")" = 1 ] || fail "spmi $* with $class.$call=$kind: no line '$line'"
}

# start: a null pointer written in the backend's launch. Nothing was launched; it starts afterwards.
crash 139 FaultyBackend launch web segv SIGSEGV start web
run 0 list
grep -qE '^web +inactive' "$T/out" || fail "web is not inactive after the crash in launch"
run 0 status web
out_has "Active: inactive"
run 0 start web
wait_for 5 is_active web || fail "web did not start after the crash"
pass "SIGSEGV in launch: named, exit 139; web inactive, then startable"

# status: a stack overflow in the manageable's status (reported from the alternate stack).
run 0 start fm
crash 139 FaultyManageable status fm overflow SIGSEGV status fm
run 0 status fm
out_has "Active: active"
pass "stack overflow in status: named, exit 139"

# stop: abort() in the backend's signal; nothing was signalled, and the lock died with the process.
crash 134 FaultyBackend signal web abort SIGABRT stop web
is_active web || fail "web is not active after the crash in signal"
# A crash in a plugin object's destructor (the end of `status`) is named as such.
crash 139 FaultyBackend "its destructor" web segv SIGSEGV status web
run 0 stop web fm
run 0 list
grep -qE '^web +inactive' "$T/out" || fail "web is not inactive after stop"
pass "SIGABRT in signal and SIGSEGV in a destructor: named; stop works afterwards"

# The wrapper process crashes in run: the line goes to wrapper.log, and start reports it.
SPMI_TEST_FAULT=FaultyWrapper.run=segv run 1 start w
line="plugin $SO (class FaultyWrapper) crashed in run (manageable 'w'): SIGSEGV"
grep -qF "$line" "$SPMI_PATH/w/wrapper.log" || fail "wrapper.log lacks '$line'"
err_has "exited (SIGSEGV) before the wrapper started"
err_has "$line"
run 0 list
grep -qE '^w +inactive' "$T/out" || fail "w is not inactive after its wrapper crashed"
pass "SIGSEGV in the wrapper's run: named in wrapper.log and by start"

run 0 clean web fm w
run 0 list
out_lacks "web"
pass "clean works afterwards"
