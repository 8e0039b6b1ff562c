#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The killed-wrapper recovery tests of recovery.sh on the tmux backend, plus `tmux kill-server` of a
# tmux server private to the test.
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed"; exit 77; }
BACKEND=tmux exec bash "$(dirname "$0")/recovery.sh"
