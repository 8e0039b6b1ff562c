#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A launch is asked about by the backend that made it: `start` records the backend's settings in
# launch.json (backend_settings), and list/status (queue_states), stop (cancel, signal) go to a backend
# made from them, not to one made from the type alone nor from a descriptor changed since. A launch.json
# of an older version, without settings, is asked about as before (by a backend of its type alone).
# The backend is the journal fixture (tests/fixtures/plugins/journal_backend.cpp): each call appends
# "<call> made with <its settings>" to the file its `journal` key names.
source "$(dirname "$0")/common.sh"
: "${SPMI_BUILD_DIR:?SPMI_BUILD_DIR must name the build directory (its fixture plugins)}"

# The plugin directory: not writable by others, else the registry refuses it.
PLUGINS="$T/plugins"
mkdir -m 0755 "$PLUGINS"
cp "$SPMI_BUILD_DIR/tests/fixtures/plugins/journal/spmi_test_journal.so" "$PLUGINS/"
export SPMI_PLUGIN_PATH="$PLUGINS"

journal_toml() {  # journal_toml FILE ID JOURNAL QUEUED
  printf '[task]\nid = "%s"\n[task.backend]\ntype = "journal"\njournal = "%s"\nqueued = %s\n' "$2" "$3" "$4" >"$1"
  printf '[task.wrapper]\ntype = "default"\ncommand = "sleep 1102.%s"\n' "$TAG" >>"$1"
}
made_with() {  # made_with CALL JOURNAL: the journal has CALL by a backend made with that journal key
  grep -qE "^$1 made with .*\"journal\":\"$2\"" "$2" 2>/dev/null
}

# A queued launch: list, status and stop ask a backend made with its recorded settings.
journal_toml q.toml q "$T/q.journal" true
run 0 load q.toml
run 0 start q
grep -qF "\"backend_settings\":{" "$SPMI_PATH/q/launch.json" || fail "launch.json lacks the backend's settings"
grep -qF "\"journal\":\"$T/q.journal\"" "$SPMI_PATH/q/launch.json" || fail "launch.json lacks the backend's journal key"
run 0 list
grep -qE '^q +pending' "$T/out" || fail "q is not pending after start"
made_with queue_states "$T/q.journal" || fail "list asked a backend not made with q's settings: $(cat "$T/q.journal")"
: >"$T/q.journal"
run 0 status q
out_has "queued as"
made_with queue_states "$T/q.journal" || fail "status asked a backend not made with q's settings"
run 0 stop q
made_with cancel "$T/q.journal" || fail "stop cancelled through a backend not made with q's settings: $(cat "$T/q.journal")"
run 0 list
grep -qE '^q +inactive' "$T/out" || fail "q is not inactive after stop"
pass "a queued launch: list, status and stop ask a backend made with the recorded settings"

# A running launch whose descriptor changed since: stop signals through the backend that launched it.
journal_toml r.toml r "$T/r.journal" false
run 0 load r.toml
run 0 start r
is_active r || fail "r is not active after start"
sed -i "s|$T/r.journal|$T/changed.journal|" "$SPMI_PATH/r/manageable.json"
grep -qF "$T/changed.journal" "$SPMI_PATH/r/manageable.json" || fail "the test could not change r's descriptor"
# Backends speak in status: the launch's backend adds its line, and its fields under its class name.
run 0 status r
out_has "Journal: $T/r.journal"
out_lacks "$T/changed.journal"
run 0 status --json r
python3 - "$T/out" "$T/r.journal" <<'PY' || fail "status --json lacks the backend's fields: $(cat "$T/out")"
import json, sys
entry = json.load(open(sys.argv[1]))["manageables"][0]
assert entry["plugins"]["JournalBackend"] == {"journal": sys.argv[2], "queued": False, "active": True}, entry["plugins"]
PY
pass "the launch's backend adds its line and JSON fields to status"
run 0 stop r
made_with signal "$T/r.journal" || fail "stop signalled through a backend not made with r's launch settings"
! grep -q '^signal' "$T/changed.journal" 2>/dev/null || fail "stop signalled through the changed descriptor's backend"
pass "stop signals through the backend made with the launch's settings, not the changed descriptor's"

# A launch.json of an older version (no backend_settings): asked about by a backend of its type alone.
journal_toml o.toml o "$T/o.journal" true
run 0 load o.toml
run 0 start o
sed -i -E 's/"backend_settings":\{[^}]*\},?//' "$SPMI_PATH/o/launch.json"
! grep -q backend_settings "$SPMI_PATH/o/launch.json" || fail "the test could not make an old launch.json"
: >"$T/o.journal"
run 0 list
grep -qE '^o +pending' "$T/out" || fail "o (an old launch record) is not pending"
[ ! -s "$T/o.journal" ] || fail "an old launch record was asked about with settings it lacks: $(cat "$T/o.journal")"
run 0 stop o
run 0 list
grep -qE '^o +inactive' "$T/out" || fail "o (an old launch record) is not inactive after stop"
pass "a launch record without settings is asked about by a backend made from its type alone"
