#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A plugin that throws what no plugin should (`throw 42`, a std::runtime_error) in any call, not only
# its factory: the command fails with exit 4 and one line naming the plugin file, its class, the call
# and the manageable; no "terminate called", no core dump. An spmi error the plugin throws on purpose
# keeps its own exit status. Afterwards the state is as before the call (list works, the manageable is
# inactive and startable, clean works). The plugins are the faulty fixtures (fault.hpp: the local
# backend, the default wrapper and a task, faulting as $SPMI_TEST_FAULT says).
source "$(dirname "$0")/common.sh"
: "${SPMI_BUILD_DIR:?SPMI_BUILD_DIR must name the build directory (its fixture plugins)}"
ulimit -c 0

# The plugin directory: root's, not writable by others, else the registry refuses it.
PLUGINS="$T/plugins"
mkdir -m 0755 "$PLUGINS"
cp "$SPMI_BUILD_DIR/tests/fixtures/plugins/faulty/spmi_test_faulty.so" "$PLUGINS/"
SO="$PLUGINS/spmi_test_faulty.so"
export SPMI_PLUGIN_PATH="$PLUGINS"

faulty_toml() {  # faulty_toml FILE ID TOP BACKEND_LINES WRAPPER_TYPE
  printf '[%s]\nid = "%s"\n[%s.backend]\ntype = "faulty"\n%s\n[%s.wrapper]\ntype = "%s"\ncommand = "sleep 1100.%s"\n' \
    "$3" "$2" "$3" "$4" "$3" "$5" "$TAG" >"$1"
}
faulty_toml web.toml web task "" default        # a task on the faulty backend
faulty_toml fm.toml fm faulty "" default        # the faulty manageable itself
faulty_toml q.toml q task "queued = true" default  # its launch is queued until cancelled
faulty_toml w.toml w task "" faulty             # the faulty wrapper
run 0 load web.toml fm.toml q.toml w.toml

# plugin_fault RC CLASS CALL ID KIND spmi-args...: with that fault, spmi exits RC and says so in one line.
plugin_fault() {
  local rc=$1 class=$2 call=$3 id=$4 kind=$5; shift 5
  SPMI_TEST_FAULT="$class.$call=$kind" run "$rc" "$@"
  local type="int" detail=""
  [ "$kind" = runtime ] && type="std::runtime_error" && detail=": injected fault in $class.$call"
  local shown=$call
  [ "$call" = create ] && shown="its factory"
  local line="plugin $SO (class $class) threw $type in $shown${id:+ (manageable '$id')}$detail"
  [ "$(grep -cF -- "$line" "$T/err")" = 1 ] || fail "spmi $* with $class.$call=$kind: no single line '$line'"
  ! grep -q "terminate called" "$T/err" || fail "spmi $*: terminate called"
}

# start: the backend's launch throws 42, then a std::runtime_error; the task's factory throws 42.
plugin_fault 4 FaultyBackend launch web int start web
plugin_fault 4 FaultyBackend launch web runtime start web
plugin_fault 4 FaultyBackend create web int start web
plugin_fault 4 FaultyManageable start fm int start fm
run 0 list
grep -qE '^web +inactive' "$T/out" || fail "web is not inactive after the failed starts"
pass "start: exceptions in launch, start and a factory are plugin errors (exit 4), web stays inactive"

# An spmi error the plugin means (BackendError) is its own message with its own exit status.
SPMI_TEST_FAULT=FaultyBackend.launch=spmi run 1 start web
err_has "injected fault in FaultyBackend.launch"
! grep -q "threw" "$T/err" || fail "an spmi error must pass through unchanged"
pass "start: an spmi error passes through (exit 1)"

# It starts once the plugin behaves.
run 0 start web
wait_for 5 is_active web || fail "web did not start after the failed attempts"
run 0 start fm
pass "start works afterwards"

# status: the manageable's status, and the task's call of its backend's type().
plugin_fault 4 FaultyManageable status fm int status fm
plugin_fault 4 FaultyManageable status fm runtime status fm
plugin_fault 4 FaultyBackend type web int status web
run 0 status web
out_has "Active: active"
pass "status: exceptions in status and a nested type() are plugin errors"

# stop: the backend's signal throws; nothing was signalled, so it is still active and stops later.
plugin_fault 4 FaultyBackend signal web int stop web
plugin_fault 4 FaultyBackend signal web runtime kill web
is_active web || fail "web is not active after signal threw"
plugin_fault 4 FaultyManageable end fm int stop fm
run 0 stop web fm
run 0 list
grep -qE '^web +inactive' "$T/out" || fail "web is not inactive after stop"
grep -qE '^fm +inactive' "$T/out" || fail "fm is not inactive after stop"
pass "stop/kill: exceptions in signal and end are plugin errors; stop works afterwards"

# list: a queued launch's state comes from the backend's queue_states; stop cancels it.
run 0 start q
run 0 list
grep -qE '^q +pending' "$T/out" || fail "q is not pending"
plugin_fault 4 FaultyBackend queue_states "" int list
plugin_fault 4 FaultyBackend queue_states "" runtime list --json
plugin_fault 4 FaultyBackend cancel "" int stop q  # called on the controller's backend: no manageable named
run 0 list
grep -qE '^q +pending' "$T/out" || fail "q is not pending after the failed cancel"
run 0 stop q
run 0 list
grep -qE '^q +inactive' "$T/out" || fail "q is not inactive after stop"
pass "list and stop of a queued launch: exceptions in queue_states and cancel are plugin errors"

# start: the wrapper's launch_argv throws (in the CLI); nothing was launched, so it is still inactive.
plugin_fault 4 FaultyWrapper launch_argv w int start w
run 0 list
grep -qE '^w +inactive' "$T/out" || fail "w is not inactive after launch_argv threw"
pass "start: an exception in the wrapper's launch_argv is a plugin error; nothing launched"

# The wrapper process: its run throws; start reports the wrapper's own line from wrapper.log.
SPMI_TEST_FAULT=FaultyWrapper.run=int run 1 start w
err_has "plugin $SO (class FaultyWrapper) threw int in run (manageable 'w')"
grep -qF "plugin $SO (class FaultyWrapper) threw int in run (manageable 'w')" "$SPMI_PATH/w/wrapper.log" \
  || fail "wrapper.log lacks the wrapper's plugin error"
run 0 list
grep -qE '^w +inactive' "$T/out" || fail "w is not inactive"
pass "the wrapper process: an exception in run is a plugin error in wrapper.log"

# Everything is consistent: clean removes them all.
run 0 clean web fm q w
run 0 list
out_lacks "web"
pass "clean works afterwards"
