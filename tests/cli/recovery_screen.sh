#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The killed-wrapper recovery tests of recovery.sh on the screen backend, plus `screen -X quit`.
command -v screen >/dev/null 2>&1 || { echo "SKIP: screen is not installed"; exit 77; }
BACKEND=screen exec bash "$(dirname "$0")/recovery.sh"
