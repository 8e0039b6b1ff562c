#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The env/env_file/cwd tests of env_cwd.sh on the tmux backend, whose server may have been started
# elsewhere: the task's default directory is still where `spmi start` ran.
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed"; exit 77; }
BACKEND=tmux exec bash "$(dirname "$0")/env_cwd.sh"
