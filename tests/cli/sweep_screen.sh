#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The several-per-file and matrix tests of sweep.sh on the screen backend.
command -v screen >/dev/null 2>&1 || { echo "SKIP: screen is not installed"; exit 77; }
BACKEND=screen exec bash "$(dirname "$0")/sweep.sh"
