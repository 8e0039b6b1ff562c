#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# list/status --json against docs/schema (python3-jsonschema), resource use of a busy task, colours
# (terminal only, never with NO_COLOR or --no-color), and --dry-run changing nothing. Local backend.
source "$(dirname "$0")/common.sh"
need python3
python3 -c 'import jsonschema' 2>/dev/null || { echo "SKIP: python3-jsonschema is not installed"; exit 77; }

# validate SCHEMA FILE: FILE is valid JSON and matches the draft 2020-12 schema (formats checked).
validate() {
  python3 - "$SOURCE_DIR/docs/schema/$1" "$2" <<'PY' || fail "$2 does not match $1"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator
v.check_schema(schema)
v(schema, format_checker=v.FORMAT_CHECKER).validate(json.load(open(sys.argv[2])))
PY
}
# field FILE EXPR: prints a Python expression over d (the parsed JSON).
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

task_toml busy.toml busy 'while :; do :; done' local
task_toml idle.toml idle 'echo hello; exec sleep 1000' local
task_toml done.toml done 'echo bye; exit 3' local
task_toml never.toml never 'true' local
run 0 load busy.toml idle.toml done.toml never.toml
run 0 start busy idle done
wait_for 5 is_inactive done || fail "done did not end"

# --- JSON ---
run 0 list --json
cp "$T/out" list.json
validate spmi-list.schema.json list.json
[ "$(field list.json 'd["schema_version"]')" = 1 ] || fail "schema_version"
[ "$(field list.json '[m["id"] for m in d["manageables"]]')" = "['busy', 'done', 'idle', 'never']" ] || fail "list --json IDs"
[ "$(field list.json '(d["manageables"][0]["state"], d["manageables"][1]["state"], d["manageables"][3]["state"])')" = "('active', 'inactive', 'inactive')" ] || fail "states"
[ "$(field list.json 'd["manageables"][1]["exit"]')" = "{'code': 3, 'signal': None}" ] || fail "exit of done"
[ "$(field list.json 'd["manageables"][0]["backend"]["type"]')" = local ] || fail "backend type"
[ "$(field list.json '(d["manageables"][3]["started_at"], d["manageables"][3]["resources"])')" = "(None, None)" ] || fail "never started"
pid=$(field list.json 'd["manageables"][0]["pid"]')
kill -0 "$pid" || fail "busy's pid $pid is not running"
pass "list --json matches its schema"

# A busy task shows CPU and memory (CPU% is each process's CPU time over its age, so it is > 0 at once).
wait_for 10 sh -c '"$SPMI" list --json 2>/dev/null | python3 -c "import json,sys; r=json.load(sys.stdin)[\"manageables\"][0][\"resources\"]; sys.exit(0 if r and r[\"cpu_percent\"] > 10 and r[\"memory_bytes\"] > 0 else 1)"' \
  || fail "busy shows no CPU or memory in list --json"
run 0 list
grep -qE '^busy +active +[0-9.]+% +[0-9.]+[KMG] +[0-9]+[smhd] +Comment of busy$' "$T/out" || fail "list row of busy with CPU, MEM, UPTIME"
grep -qE '^ID +ACTIVE +CPU +MEM +UPTIME +COMMENT$' "$T/out" || fail "list header"
grep -qE '^never +inactive +- +- +- +Comment of never$' "$T/out" || fail "list row of an inactive one"
pass "list shows CPU, memory and uptime of a busy task"

run 0 status '.*' --json
cp "$T/out" status.json
validate spmi-status.schema.json status.json
[ "$(field status.json 'd["manageables"][2]["output"]')" = "['hello']" ] || fail "status --json output"
[ "$(field status.json '[f["key"] for f in d["manageables"][0]["fields"]][0]')" = "Backend type" ] || fail "status --json fields"
[ "$(field status.json 'd["manageables"][0]["resources"]["processes"] >= 1')" = True ] || fail "status --json resources"
run 0 status busy
grep -qE '^Resources: CPU [0-9.]+%, memory [0-9.]+[KMG], [0-9]+ process(es)?$' "$T/out" || fail "status Resources line"
pass "status --json matches its schema; status shows resources"

# An unreadable manageable is 'unknown' with its error, still valid JSON, exit 1.
mkdir "$SPMI_PATH/broken" && echo '{' >"$SPMI_PATH/broken/manageable.json"
run 1 list --json
cp "$T/out" broken.json
validate spmi-list.schema.json broken.json
[ "$(field broken.json '[m["state"] for m in d["manageables"] if m["id"] == "broken"][0]')" = unknown ] || fail "broken state"
rm -rf "$SPMI_PATH/broken"
pass "unknown state in JSON"

# --- colours ---
esc=$(printf '\033')
run 0 list
! grep -q "$esc" "$T/out" || fail "colour codes written to a pipe"
if command -v script >/dev/null; then
  script -qec "\"$SPMI\" list" /dev/null >tty.out 2>/dev/null </dev/null || true
  grep -q "${esc}\[32mactive" tty.out || fail "no green 'active' on a terminal"
  NO_COLOR=1 script -qec "\"$SPMI\" list" /dev/null >tty.out 2>/dev/null </dev/null || true
  grep -q 'busy' tty.out || fail "no list output under script"
  ! grep -q "${esc}\[3" tty.out || fail "colours despite NO_COLOR"
  NO_COLOR= script -qec "\"$SPMI\" list" /dev/null >tty.out 2>/dev/null </dev/null || true
  ! grep -q "${esc}\[3" tty.out || fail "colours despite an empty NO_COLOR"
  script -qec "\"$SPMI\" --no-color status busy" /dev/null >tty.out 2>/dev/null </dev/null || true
  grep -q 'Active: active' tty.out || fail "no status output under script"
  ! grep -q "${esc}\[3" tty.out || fail "colours despite --no-color"
  # Log lines: ERROR red on a terminal, plain with NO_COLOR, and plain on a pipe.
  script -qec "\"$SPMI\" stop nomatch" /dev/null >tty.out 2>/dev/null </dev/null || true
  grep -q "${esc}\[31mERROR${esc}\[0m" tty.out || fail "no red ERROR on a terminal"
  NO_COLOR=1 script -qec "\"$SPMI\" stop nomatch" /dev/null >tty.out 2>/dev/null </dev/null || true
  grep -q "ERROR" tty.out && ! grep -q "$esc" tty.out || fail "coloured log despite NO_COLOR"
  run 1 stop nomatch
  ! grep -q "$esc" "$T/err" || fail "colour codes in the log on a pipe"
  pass "colours only on a terminal, never with NO_COLOR or --no-color"
fi

# --- dry run: prints the plan, changes nothing ---
snapshot() { (cd "$SPMI_PATH" && find . -printf '%p %s %T@\n' | sort; "$SPMI" list --json 2>/dev/null | python3 -c 'import json,sys; print([(m["id"], m["state"], m["pid"]) for m in json.load(sys.stdin)["manageables"]])'); }
before=$(snapshot)
run 0 stop --dry-run busy idle
out_has "would stop busy (active, pid $pid): "
out_has "would stop idle (active"
err_has "nothing was changed"
run 1 kill --dry-run '.*'
out_has "would kill busy"
out_has "would not kill done (inactive): "
run 1 clean --dry-run '.*'
out_has "would clean done (inactive): remove it and its state directory"
out_has "would not clean busy (active"
run 0 restart --dry-run busy never
out_has "would restart busy (active, pid $pid): stop it"
out_has "would restart never (inactive): start it"
run 1 stop --dry-run nomatch busy
err_has "no loaded manageable matches 'nomatch'"
[ "$(snapshot)" = "$before" ] || fail "--dry-run changed the state directory or the manageables"
kill -0 "$pid" || fail "busy's process ended after dry runs"
run 2 start --dry-run busy
pass "--dry-run for stop, kill, clean, restart changes nothing"
echo "json_output: all passed"
