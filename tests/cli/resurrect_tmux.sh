#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The simulated reboot of resurrect.sh on the tmux backend.
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed"; exit 77; }
BACKEND=tmux exec bash "$(dirname "$0")/resurrect.sh"
