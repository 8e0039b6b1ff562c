#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Failures are visible. A backend's launcher that exits before the wrapper runs: `start` fails (exit 1)
# and quotes what the launcher printed, which is in the manageable's wrapper.log; one that printed
# nothing is said to have logged nothing, and no file is named (nor are an earlier launch's lines
# quoted). What a wrapper logs through its context's logger in run() is a line of wrapper.log, with a
# timestamp and the wrapper's pid, once.
source "$(dirname "$0")/common.sh"
: "${SPMI_BUILD_DIR:?SPMI_BUILD_DIR must name the build directory (its fixture plugins)}"

# A `screen` first in PATH that fails as the real one can (it prints its errors on stdout), or silently.
mkdir "$T/bin"
printf '#!/bin/sh\necho "Cannot make directory %s/no-screens: Permission denied"\necho "screen: giving up" >&2\nexit 1\n' \
  "$T" >"$T/bin/screen"
chmod +x "$T/bin/screen"
task_toml s.toml s "sleep 1103.$TAG" screen
run 0 load s.toml
PATH="$T/bin:$PATH" run 1 start s
err_has "the backend's process (pid "
err_has "exited (status 1) before the wrapper started; $SPMI_PATH/s/wrapper.log says:"
err_has "Cannot make directory $T/no-screens: Permission denied"
err_has "screen: giving up"
grep -qF "Cannot make directory $T/no-screens" "$SPMI_PATH/s/wrapper.log" || fail "wrapper.log lacks the launcher's stdout"
grep -qF "screen: giving up" "$SPMI_PATH/s/wrapper.log" || fail "wrapper.log lacks the launcher's stderr"
[ "$(stat -c %a "$SPMI_PATH/s/wrapper.log")" = 600 ] || fail "wrapper.log is not mode 0600"
is_inactive s || fail "s is not inactive after its launcher failed"
pass "a launcher that exits early: its output is in wrapper.log, and start quotes it"

printf '#!/bin/sh\nexit 3\n' >"$T/bin/screen"
PATH="$T/bin:$PATH" run 1 start s
err_has "exited (status 3) before the wrapper started, and nothing was logged about it"
! grep -qF "wrapper.log" "$T/err" || fail "start names wrapper.log, where this launch wrote nothing"
! grep -qF "giving up" "$T/err" || fail "start quotes an earlier launch's lines"
pass "a launcher that exits early silently: start says nothing was logged, naming no file"

# The real screen, when it is there, with a socket directory it can't make.
if command -v screen >/dev/null 2>&1; then
  SCREENDIR="$T/no/such/dir" run 1 start s
  err_has "exited (status 1) before the wrapper started; $SPMI_PATH/s/wrapper.log says:"
  err_has "$T/no/such/dir"
  pass "GNU screen that can't make its socket directory: start quotes it"
fi

# A wrapper that logs through its context's logger in run() (the journal fixture, on the local backend).
PLUGINS="$T/plugins"
mkdir -m 0755 "$PLUGINS"
cp "$SPMI_BUILD_DIR/tests/fixtures/plugins/journal/spmi_test_journal.so" "$PLUGINS/"
printf '[task]\nid = "w"\n[task.backend]\ntype = "local"\n[task.wrapper]\ntype = "journal"\ncommand = "sleep 1104.%s"\n' \
  "$TAG" >w.toml
SPMI_PLUGIN_PATH="$PLUGINS" run 0 load w.toml
SPMI_PLUGIN_PATH="$PLUGINS" run 0 start w
log="$SPMI_PATH/w/wrapper.log"
wait_for 5 grep -qF "journal wrapper: run of w starts" "$log" || fail "wrapper.log lacks the wrapper's log line"
wrapper_pid=$(sed -E 's/.*"wrapper_pid":([0-9]+).*/\1/' "$SPMI_PATH/w/run.json")
grep -qE "^wrapper $wrapper_pid: \[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3} - WARNING\] journal wrapper: run of w starts$" \
  "$log" || fail "the wrapper's log line lacks its timestamp or pid $wrapper_pid: $(cat "$log")"
[ "$(grep -cF "journal wrapper: run of w starts" "$log")" = 1 ] || fail "the wrapper's log line is not there once: $(cat "$log")"
[ "$(stat -c %a "$log")" = 600 ] || fail "wrapper.log is not mode 0600"
SPMI_PLUGIN_PATH="$PLUGINS" run 0 stop w
pass "a wrapper's context.logger writes to wrapper.log, with a timestamp and its pid"
