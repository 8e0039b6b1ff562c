#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Plugins are found next to the installed binary (cmake --install) and through $SPMI_PLUGIN_PATH.
source "$(dirname "$0")/common.sh"
need screen
: "${SPMI_BUILD_DIR:?}"

cmake --install "$SPMI_BUILD_DIR" --prefix "$T/prefix" >/dev/null || fail "cmake --install"
installed="$T/prefix/bin/spmi"
[ -x "$installed" ] || fail "no installed spmi"
task_toml a.toml a 'echo installed'
SPMI="$installed"
run 0 load a.toml
run 0 start a
wait_for 5 is_inactive a || fail "a did not finish"
run 0 status a
out_has "installed"
out_has "Exit code: 0"
pass "installed prefix"

# Without its plugin directory the installed spmi knows no types ...
mv "$T/prefix/lib/spmi/plugins" "$T/moved"
task_toml b.toml b 'echo moved'
run 3 load b.toml
err_has "unknown manageable type 'task'"
err_has "installed manageables: none"
# ... and finds them through $SPMI_PLUGIN_PATH.
export SPMI_PLUGIN_PATH="$T/empty:$T/moved"
run 0 load b.toml
pass "SPMI_PLUGIN_PATH"
echo "plugin_dirs: all passed"
