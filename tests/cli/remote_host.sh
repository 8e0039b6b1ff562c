#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A task whose wrapper runs on another host (on a cluster: a compute node, with $SPMI_PATH shared):
# each command says what it can't do from here. The run record of a real running task (local backend)
# is given another host's name, as a wrapper on node12 would have written it: `status` shows
# "Host: node12" and that resources are not measured, `list` shows "-" for CPU and memory (its pid here
# is not its process), `connect` refuses naming the host and `logs -f`; `logs` still works.
source "$(dirname "$0")/common.sh"
need python3

set_host() { # ID HOST: run.json's host replaced atomically, the rest kept
  python3 - "$SPMI_PATH/$1" "$2" <<'PY'
import json, os, sys
d, host = sys.argv[1:]
record = json.load(open(d + "/run.json"))
record["host"] = host
with open(d + "/run.json.new", "w") as f:
    json.dump(record, f)
os.chmod(d + "/run.json.new", 0o600)
os.rename(d + "/run.json.new", d + "/run.json")
PY
}

task_toml far.toml far 'echo ready; while read line; do echo "got $line"; done' local
run 0 load far.toml
run 0 start far
wait_for 10 grep -qx ready "$SPMI_PATH/far/stdout" || fail "far printed nothing"
here=$(hostname)
grep -q "\"host\":\"$here\"" "$SPMI_PATH/far/run.json" || fail "run.json does not record this host ($here): $(cat "$SPMI_PATH/far/run.json")"
run 0 status far
out_has "Resources: CPU"
out_lacks "Host:"
run 0 list --json
python3 -c 'import json,sys; v=[m for m in json.load(open(sys.argv[1]))["manageables"] if m["id"]=="far"][0]; sys.exit(v["host"] != sys.argv[2])' "$T/out" "$here" ||
  fail "list --json does not name this host: $(cat "$T/out")"
pass "a local run records its host; status measures it; JSON names the host"

set_host far node12
run 0 status far
out_has "Active: active"
out_has "Host: node12"
out_has "Resources: not measured (runs on node12; this is $here)"
out_lacks "Resources: CPU"
run 0 list
grep -qE '^far +active +.* - +- ' "$T/out" || fail "list should show - for CPU and memory: $(cat "$T/out")"
run 0 list --json
python3 -c 'import json,sys; v=[m for m in json.load(open(sys.argv[1]))["manageables"] if m["id"]=="far"][0]; sys.exit(v["resources"] is not None)' "$T/out" ||
  fail "list --json measured a remote run"
run 0 status --json far
python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["manageables"][0]; sys.exit(v["host"] != "node12")' "$T/out" ||
  fail "status --json does not name the host: $(cat "$T/out")"
pass "status and list: Host node12, resources not measured"

rc=0
echo hello | "$SPMI" connect far >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "connect to a remote task exited $rc"
err_has "manageable 'far' runs on node12, not on this host ($here)"
err_has "spmi logs -f far"
grep -q "got hello" "$SPMI_PATH/far/stdout" && fail "connect wrote to the FIFO of a remote task"
run 0 logs far
out_has "ready"
pass "connect refuses, naming the host and logs -f; logs works"

set_host far "$here"
rc=0
echo again | timeout 10 "$SPMI" connect far >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 0 ] || fail "connect on this host exited $rc"
out_has "got again"
run 0 kill far
pass "back on this host: connect works"
echo "remote_host: all passed"
