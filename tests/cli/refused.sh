#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every operation the guide refuses: a clear message, a non-zero exit status, nothing changed.
source "$(dirname "$0")/common.sh"
need screen

task_toml long.toml long "sleep 301.$TAG"
task_toml short.toml short 'true'
run 0 load long.toml short.toml

# load of an ID that is already loaded
run 1 load long.toml
err_has "manageable 'long' is already loaded"
err_has "spmi clean long"

# stop, kill of an inactive manageable
run 1 stop long
err_has "manageable 'long' is inactive; nothing to stop"
err_has "Stopped 0 manageables"
run 1 kill long
err_has "manageable 'long' is inactive; nothing to kill"

# start of an active manageable; exactly one copy runs
run 0 start long
run 1 start long
err_has "manageable 'long' is active; stop it first"
err_has "Started 0 manageables"
[ "$(pgrep -xfc "sleep 301\.$TAG")" = 1 ] || fail "expected one copy of long's task"

# clean of an active manageable
run 1 clean long
err_has "manageable 'long' is active; stop or kill it before cleaning"
[ -d "$SPMI_PATH/long" ] || fail "clean removed an active manageable"

# one refused among several: the others are still done, the status is non-zero
run 1 start long short
err_has "Started 1 manageables"

# patterns that match nothing
run 1 start 'nope.*'
err_has "no loaded manageable matches 'nope.*'"
err_has "Nothing to start"
run 1 status nope
run 1 clean nope
# a pattern matches the whole ID only
run 1 stop lon
err_has "no loaded manageable matches 'lon'"

# an invalid regex is a usage error
run 2 status '['
err_has "invalid pattern '['"

# connect to an inactive or unknown manageable
run 1 connect short
err_has "manageable 'short' is inactive"
run 1 connect ghost
err_has "no manageable 'ghost' is loaded"

run 0 kill long

# screen missing from PATH: a clear message, nothing half-started
rc=0
PATH=/nonexistent "$SPMI" start short >"$T/out" 2>"$T/err" </dev/null || rc=$?
[ "$rc" = 1 ] || fail "start without screen exited $rc"
err_has "backend 'screen': screen not found in PATH; install GNU screen (apt-get install screen)"
run 0 status short
out_has "Active: inactive"
echo "refused: all passed"
