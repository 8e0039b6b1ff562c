#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The CLI renders, the core decides: no file of cli/ reads the state store itself. States, records and
# resources come from the Controller's views (core/include/spmi/views.hpp); logs, connect and recovery
# ask the Controller (follow_output, open_stdin, running, ids, state_root).
# One exception: wrapper_log.cpp runs inside the wrapper process (`spmi __run`), where it only appends
# spmi's log lines to the manageable's wrapper.log through ManageableDir; it reads no state.
set -euo pipefail
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pattern='StateStore|ManageableDir|read_run|read_launch|read_meta|is_active|store\(\)'
found=$(cd "$SOURCE_DIR" && grep -nE "$pattern" cli/*.cpp cli/*.hpp cli/web/*.cpp cli/web/*.hpp | grep -vE '^cli/wrapper_log\.(cpp|hpp):' || true)
if [ -n "$found" ]; then
  echo "FAIL: cli/ reads the state store directly; ask the Controller for a view or an operation instead:" >&2
  echo "$found" >&2
  exit 1
fi
echo "ok: cli/ reads no state directly"
