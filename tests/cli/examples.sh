#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The descriptors in examples/ (used by the README's demo) load and run as documented.
source "$(dirname "$0")/common.sh"
need screen
examples="$SOURCE_DIR/examples"

run 0 load "$examples/hello.toml" "$examples/counter.yaml" "$examples/echo.json"
err_has "Loaded 3 manageables"
run 0 start hello counter echo
wait_for 5 is_inactive hello || fail "hello did not finish"
run 0 status hello
out_has "Hello from spmi"
out_has "Exit code: 0"
wait_for 5 grep -q "tick 2" "$SPMI_PATH/counter/stdout" || fail "counter does not count"
rc=0
echo ping | timeout 20 "$SPMI" connect echo >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 0 ] || fail "connect exited $rc"
out_has "you said: ping"
run 0 stop counter echo
echo "examples: all passed"
