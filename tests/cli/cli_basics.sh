#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# -h, -v, -d and command-line errors.
source "$(dirname "$0")/common.sh"

run 0 -h
out_has "Simple Process Management Interface"
for command in list load start stop kill clean status connect; do out_has "$command"; done
out_has "Exit status:"
run 0 --version
grep -qE '^spmi [0-9]+\.[0-9]+\.[0-9]+$' "$T/out" || fail "version line"
run 0 -v
run 2 frobnicate
run 2
run 2 start
run 2 connect a b
# -d before or after the command turns on debug lines.
run 0 -d list
err_has "Spmi - DEBUG]"
err_has "state directory $SPMI_PATH"
run 0 list -d
err_has "Spmi - DEBUG]"
run 0 list --debug
echo "cli_basics: all passed"
