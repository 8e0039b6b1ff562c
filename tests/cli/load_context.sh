#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A task runs in the directory `spmi load` ran in, with the environment `spmi load` had, whatever the
# directory and environment of `start` or `restart`; `status` says both (issue #16, point 1).
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

mkdir -p "$T/A" "$T/B"
task_toml "$T/A/where.toml" where "pwd >$T/seen; echo \"load=\${LOAD_ONLY:-unset} start=\${START_ONLY:-unset}\" >>$T/seen; sleep 300" \
  "$BACKEND" 'env = { FROM_ENV = "x" }'
( cd "$T/A" && LOAD_ONLY=1 "$SPMI" load where.toml >/dev/null 2>&1 ) || fail "load in A"
has_lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" = "$2" ]; }
for verb in start restart; do
  rm -f "$T/seen"
  ( cd "$T/B" && START_ONLY=1 "$SPMI" "$verb" where >/dev/null 2>"$T/err" ) || fail "$verb from B: $(cat "$T/err")"
  wait_for 10 has_lines "$T/seen" 2 || fail "the task did not report after $verb"
  [ "$(sed -n 1p "$T/seen")" = "$T/A" ] || fail "$verb from B ran the task in $(sed -n 1p "$T/seen"), not A"
  [ "$(sed -n 2p "$T/seen")" = "load=1 start=unset" ] || fail "$verb: environment $(sed -n 2p "$T/seen")"
done
pass "start and restart from another directory: the task runs in A with load's environment"

( cd / && run 0 status where )
out_has "Working directory: $T/A (where \`spmi load\` ran)"
grep -qE '^Environment: captured by `spmi load` at [0-9-]+ [0-9:]+ \([0-9]+ variables\); env: FROM_ENV$' "$T/out" \
  || fail "no Environment line"
out_lacks "LOAD_ONLY=1"
run 0 status --json where
python3 - "$T/out" "$T/A" <<'PY' || fail "status --json lacks cwd or environment"
import json, sys
entry = json.load(open(sys.argv[1]))["manageables"][0]
assert entry["cwd"] == sys.argv[2] and entry["cwd_from"] == "load", entry["cwd"]
env = entry["environment"]
assert env["variables"] > 0 and env["env_names"] == ["FROM_ENV"] and env["captured_at"], env
assert entry["reload_pending"] is False and entry["reloaded_at"] is None
PY
pass "status shows the working directory and the captured environment (names, never values)"

# One environment file per distinct environment, not one per manageable; private to the user.
for i in 1 2 3; do task_toml "$T/A/m$i.toml" "m$i" true "$BACKEND"; done
( cd "$T/A" && "$SPMI" load m1.toml m2.toml m3.toml >/dev/null 2>&1 ) || fail "load m1-m3"
[ "$(find "$SPMI_PATH/.environments" -type f | wc -l)" -le 2 ] || fail "one environment file per manageable"
[ "$(stat -c %a "$SPMI_PATH/.environments"/*.json | sort -u)" = 600 ] || fail "environment files are not 0600"
grep -q '"environment"' "$SPMI_PATH/m1/manageable.json" || fail "manageable.json names no environment"
! grep -q 'LOAD_ONLY\|"PATH=' "$SPMI_PATH/m1/manageable.json" || fail "manageable.json holds the environment"
pass "the environment is stored once, outside manageable.json"

# The descriptor's cwd (relative: to the descriptor's directory) wins over where load ran.
mkdir -p "$T/A/work"
task_toml "$T/A/own.toml" own "pwd >$T/own.seen; sleep 300" "$BACKEND" 'cwd = "work"'
( cd "$T/B" && "$SPMI" load "$T/A/own.toml" >/dev/null 2>&1 ) || fail "load own"
( cd / && "$SPMI" start own >/dev/null 2>&1 ) || fail "start own"
wait_for 10 test -s "$T/own.seen" || fail "own did not report"
[ "$(cat "$T/own.seen")" = "$T/A/work" ] || fail "descriptor cwd: $(cat "$T/own.seen")"
run 0 status own
out_has "Working directory: $T/A/work (the descriptor's cwd)"
pass "the descriptor's cwd wins"

# A manageable loaded by spmi 0.2.0 (no cwd, no environment in manageable.json): each start's, as then.
"$SPMI" kill where >/dev/null 2>&1 || true
python3 - "$SPMI_PATH/where/manageable.json" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
for key in ("cwd", "environment", "environment_captured_at", "revision"):
    meta.pop(key, None)
json.dump(meta, open(sys.argv[1], "w"))
PY
rm -f "$T/seen"
( cd "$T/B" && START_ONLY=1 "$SPMI" start where >/dev/null 2>&1 ) || fail "start an old manageable"
wait_for 10 has_lines "$T/seen" 2 || fail "the old manageable did not report"
[ "$(sed -n 1p "$T/seen")" = "$T/B" ] || fail "old manageable ran in $(sed -n 1p "$T/seen")"
[ "$(sed -n 2p "$T/seen")" = "load=unset start=1" ] || fail "old manageable's environment: $(sed -n 2p "$T/seen")"
run 0 status where
out_has "Working directory: where \`spmi start\` runs (loaded by an older spmi; \`spmi reload where\` records"
out_has "Environment: that of each \`spmi start\` (loaded by an older spmi; \`spmi reload where\` captures it)"
pass "a manageable loaded by an older spmi keeps each start's directory and environment, and status says so"
echo "load_context ($BACKEND): all passed"
