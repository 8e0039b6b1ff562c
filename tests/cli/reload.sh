#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `spmi reload` and `spmi load --replace` (issue #16, point 2): an inactive task runs the new command at
# its next start; an active one keeps running the old until `spmi restart`, and status says a newer
# descriptor waits; output and history stay; a broken or missing descriptor changes nothing.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

task_toml "$T/r.toml" r "echo old-\$SPMI_ID; sleep 300" "$BACKEND"
task_toml "$T/idle.toml" idle "echo idle-old" "$BACKEND"
run 0 load "$T/r.toml" "$T/idle.toml"

# Inactive: reload, then start runs the new command.
task_toml "$T/idle.toml" idle "echo idle-new" "$BACKEND"
run 0 reload --dry-run idle
out_has "would reload idle (from $T/idle.toml): changes task.wrapper.command"
run 0 status idle
out_has "Command: echo idle-old"
run 0 reload idle
err_has 'Reloaded manageable "idle"'
run 0 start idle
wait_for 10 grep -q idle-new "$SPMI_PATH/idle/stdout" || fail "the reloaded command did not run"
pass "reload of an inactive task: the next start runs the new command"

# Active: keeps running the old command; status says a newer descriptor waits; restart runs the new one.
run 0 start r
wait_for 10 grep -q old-r "$SPMI_PATH/r/stdout" || fail "r did not start"
old_pid=$("$SPMI" status --json r | python3 -c 'import json,sys; print(json.load(sys.stdin)["manageables"][0]["pid"])')
task_toml "$T/r.toml" r "echo new-\$SPMI_ID; sleep 300" "$BACKEND"
run 0 reload r
err_has "it is active: the running task keeps the descriptor it was started with until \`spmi restart r\`"
run 0 status r
out_has "Descriptor: reloaded at"
out_has "the running task keeps the one it was started with until \`spmi restart r\`"
out_has "PID: $old_pid"
out_has "Command: echo old-\$SPMI_ID; sleep 300"
run 0 status --json r
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["manageables"][0]; assert e["reload_pending"] is True and e["reloaded_at"], e' "$T/out" \
  || fail "status --json: no reload_pending"
pass "reload of an active task: it keeps running, status says a newer descriptor waits"

# A wrapper replaced after it was killed (restart policy) runs what its launch started, not the reload.
task_toml "$T/p.toml" p "echo p-old; sleep 300" "$BACKEND" 'restart = "always"' 'restart_delay = 0.2'
run 0 load "$T/p.toml"
run 0 start p
wait_for 10 grep -q p-old "$SPMI_PATH/p/stdout" || fail "p did not start"
task_toml "$T/p.toml" p "echo p-new; sleep 300" "$BACKEND" 'restart = "always"' 'restart_delay = 0.2'
run 0 reload p
wrapper=$("$SPMI" status --json p | python3 -c 'import json,sys; print(json.load(sys.stdin)["manageables"][0]["wrapper_pid"])')
kill -KILL "$wrapper"
started_twice() { [ "$(grep -c p-old "$SPMI_PATH/p/stdout")" -ge 2 ]; }
wait_for 15 started_twice || fail "the replaced wrapper did not start p again"
! grep -q p-new "$SPMI_PATH/p/stdout" || fail "the replaced wrapper ran the reloaded command"
pass "a wrapper that replaces a killed one runs its launch's descriptor"

run 0 restart r
wait_for 10 grep -q new-r "$SPMI_PATH/r/stdout" || fail "restart did not run the new command"
grep -q old-r "$SPMI_PATH/r/stdout" || fail "the old run's output is gone"
run 0 status r
out_lacks "the running task keeps the one"
out_has "Command: echo new-\$SPMI_ID; sleep 300"
pass "restart runs the reloaded descriptor; the old run's output stays"

# Broken descriptors change nothing and exit non-zero.
cp "$SPMI_PATH/r/manageable.json" "$T/meta.before"
printf '[task\nid = "r"\n' >"$T/r.toml"
run 3 reload r
err_has "$T/r.toml"
err_has "nothing was reloaded"
cmp -s "$SPMI_PATH/r/manageable.json" "$T/meta.before" || fail "a bad TOML changed manageable.json"
task_toml "$T/r.toml" r "echo x" nosuchbackend
run 3 reload r
err_has "unknown backend type 'nosuchbackend'"
cmp -s "$SPMI_PATH/r/manageable.json" "$T/meta.before" || fail "an unknown backend changed manageable.json"
task_toml "$T/r.toml" r "echo x" "$BACKEND" 'restart = "sometimes"'
run 3 reload r idle
err_has "task.wrapper.restart: 'sometimes' is not a restart policy"
cmp -s "$SPMI_PATH/r/manageable.json" "$T/meta.before" || fail "a bad value changed manageable.json"
rm "$T/r.toml"
run 1 reload r
err_has "manageable 'r': cannot read its descriptor $T/r.toml (No such file or directory)"
cmp -s "$SPMI_PATH/r/manageable.json" "$T/meta.before" || fail "a missing file changed manageable.json"
pass "a broken or missing descriptor changes nothing and exits non-zero"

# load without --replace still refuses, and says what to do; load --replace replaces and loads new IDs.
task_toml "$T/r.toml" r "echo replaced; sleep 300" "$BACKEND"
task_toml "$T/fresh.toml" fresh "true" "$BACKEND"
run 1 load "$T/r.toml"
err_has "manageable 'r' is already loaded"
err_has "spmi load --replace"
err_has "spmi reload r"
mkdir "$T/elsewhere"
( cd "$T/elsewhere" && "$SPMI" load --replace "$T/r.toml" "$T/fresh.toml" >"$T/out" 2>"$T/err" ) || fail "load --replace: $(cat "$T/err")"
err_has 'Reloaded manageable "r"'
err_has 'Loaded manageable "fresh"'
run 0 status r
out_has "the running task keeps the one it was started with until"
run 0 restart r
run 0 status r
out_has "Command: echo replaced; sleep 300"
out_has "Working directory: $T/elsewhere (where \`spmi load\` ran)"
grep -q old-r "$SPMI_PATH/r/stdout" || fail "load --replace lost the output"
pass "load --replace replaces loaded IDs (cwd of this load) and loads new ones"

# A descriptor whose format changed: the old copy goes.
printf '{"task": {"id": "idle", "backend": {"type": "%s"}, "wrapper": {"type": "default", "command": "true"}}}\n' "$BACKEND" >"$T/idle.json"
run 0 load --replace "$T/idle.json"
[ -f "$SPMI_PATH/idle/descriptor.json" ] && [ ! -e "$SPMI_PATH/idle/descriptor.toml" ] || fail "descriptor copies: $(ls "$SPMI_PATH/idle")"
pass "a new format replaces the old descriptor copy"
echo "reload ($BACKEND): all passed"
