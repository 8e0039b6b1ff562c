#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Truthful restarts (issue #16, point 3): while a crashed task waits out its backoff, list, status and
# their JSON say `restarting`, with no PID or uptime, the last exit, the next attempt and the restarts
# counted; status has one Restarts line and the restart policy; the verbs treat it as running; after
# max_restarts it is `failed`; a stop during the wait ends it at once and counts no restart.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

state_of() { "$SPMI" list 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
# json_check FILE PYTHON [ID]: runs PYTHON with `e`, the entry of ID (crashy) in FILE (list/status --json).
json_check() {
  python3 - "$1" "$2" "${3:-crashy}" <<'PY'
import json, sys
e = [m for m in json.load(open(sys.argv[1]))["manageables"] if m["id"] == sys.argv[3]][0]
exec(sys.argv[2])
PY
}
validate() {
  python3 -c 'import jsonschema' 2>/dev/null || return 0
  python3 - "$SOURCE_DIR/docs/schema/$1" "$2" <<'PY' || fail "$2 does not match $1"
import json, sys, jsonschema
v = jsonschema.Draft202012Validator
schema = json.load(open(sys.argv[1]))
v(schema, format_checker=v.FORMAT_CHECKER).validate(json.load(open(sys.argv[2])))
PY
}

# crashy's backoff (30 s) outlasts the checks made during it however slow a loaded host makes them; a
# stop ends it. giving_up restarts at once, to reach max_restarts without a wait.
task_toml crashy.toml crashy "echo run >>$T/crashy.runs; exit 3" "$BACKEND" \
  'restart = "always"' 'restart_delay = "30s"' 'restart_delay_max = "30s"' 'max_restarts = 1' 'restart_window = 120'
task_toml giving_up.toml giving_up "echo run >>$T/giving_up.runs; exit 3" "$BACKEND" \
  'restart = "always"' 'restart_delay = "0.2s"' 'max_restarts = 1' 'restart_window = 120'
task_toml calm.toml calm "exec sleep 1101.$TAG" "$BACKEND"
run 0 load crashy.toml giving_up.toml calm.toml
run 0 start crashy
wait_for 10 is_state crashy restarting || fail "crashy is not restarting during its backoff: $(state_of crashy)"

run 0 list
grep -qE '^crashy +restarting +- +- +- +Comment of crashy$' "$T/out" || fail "list: no restarting row without uptime"
run 0 status crashy
out_has "Active: restarting since "
out_has "PID: -"
out_has "Exit code: 3"
out_has "Restarts: 1 (last exit: 3 at "
[ "$(grep -c '^Restarts:' "$T/out")" = 1 ] || fail "more than one Restarts line"
grep -qE '^Next attempt: [0-9-]+ [0-9:]+ \(in 0:00:[0-3][0-9]\)$' "$T/out" || fail "no next attempt line"
out_has "Restart policy: always (at most 1 restart in 120 s; delay 30 s)"
out_lacks "Resources:"
pass "list and status say restarting, with the last exit and the next attempt"

# It is running for the verbs: start and clean refuse, dry runs say what would happen.
run 1 start crashy
err_has "manageable 'crashy' is restarting; stop it first"
run 1 clean crashy
err_has "manageable 'crashy' is restarting; stop or kill it before cleaning"
run 0 stop --dry-run crashy
out_has "would stop crashy (restarting): end its wait for the next attempt"
run 1 clean --dry-run crashy
out_has "would not clean crashy (restarting): it is restarting; clean would refuse"
pass "start and clean refuse a restarting task; dry runs"

run 0 list --json
cp "$T/out" "$T/list.json"
validate spmi-list.schema.json "$T/list.json"
json_check "$T/list.json" '
assert e["state"] == "restarting", e
assert e["pid"] is None and e["uptime_seconds"] is None, e
assert isinstance(e["wrapper_pid"], int), e
assert e["restarts"] == 1, e
assert e["exit"] == {"code": 3, "signal": None}, e
assert e["last_exit"]["code"] == 3 and e["last_exit"]["signal"] is None and e["last_exit"]["reason"] is None, e
assert e["last_exit"]["at"] and e["next_attempt"] and e["last_exit"]["at"] < e["next_attempt"], e
' || fail "list --json while restarting"
run 0 status --json crashy
cp "$T/out" "$T/status.json"
validate spmi-status.schema.json "$T/status.json"
json_check "$T/status.json" '
assert e["state"] == "restarting" and e["restarts"] == 1 and e["last_exit"]["code"] == 3, e
p = e["plugins"]["DefaultWrapper"]
assert p["restart"] == "always" and p["max_restarts"] == 1 and p["restart_delay_seconds"] == 30, p
assert p["max_memory_bytes"] is None, p
' || fail "status --json while restarting"
pass "JSON: restarting, restarts, exit, last_exit, next_attempt, the policy"

# A stop during the wait ends it at once, and the restart that never happened is not counted.
started=$(date +%s%N)
run 0 stop crashy
elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
[ "$elapsed" -lt 3000 ] || fail "stop of a restarting task took $elapsed ms"
is_state crashy inactive || fail "crashy after stop: $(state_of crashy)"
run 0 status crashy
out_has "Exit code: 3"
out_lacks "Restarts:"
out_lacks "Next attempt"
pass "stop during the wait: inactive at once ($elapsed ms), no restart counted"

# After the one restart allowed, the next crash gives up: failed, one Restarts line.
run 0 start giving_up
wait_for 20 is_state giving_up failed || fail "giving_up did not fail: $(state_of giving_up)"
[ "$(wc -l <"$T/giving_up.runs")" = 2 ] || fail "expected 2 attempts, got $(wc -l <"$T/giving_up.runs")"
run 0 status giving_up
out_has "Active: failed since "
out_has "Restarts: 1 (last exit: 3 at "
[ "$(grep -c '^Restarts:' "$T/out")" = 1 ] || fail "more than one Restarts line"
out_lacks "Next attempt"
run 0 list --json
json_check "$T/out" '
assert e["state"] == "failed" and e["restarts"] == 1 and e["next_attempt"] is None, e
assert e["last_exit"]["code"] == 3 and e["exit"]["code"] == 3, e
' giving_up || fail "list --json after giving up"
pass "failed after max_restarts"

# A task without a policy says so, and a running one stays active.
run 0 start calm
run 0 status calm
out_has "Active: active since "
out_has "Restart policy: never"
out_lacks "Restarts:"
run 0 stop calm
pass "a task without a restart policy: Restart policy: never"
echo "restarting ($BACKEND): all passed"
