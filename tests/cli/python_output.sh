#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A Python task that prints without flushing shows its output in `spmi logs` at once: tasks get
# PYTHONUNBUFFERED=1, unless their environment, env_file or env sets it (issue #16, point 7).
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}
need python3

cat >"$T/tick.py" <<'PY'
import os, time
print("seen PYTHONUNBUFFERED=[%s]" % os.environ.get("PYTHONUNBUFFERED"), flush=False)
while True:
    print("tick", flush=False)
    time.sleep(1)
PY
unset PYTHONUNBUFFERED
task_toml "$T/tick.toml" tick "exec python3 $T/tick.py" "$BACKEND"
run 0 load "$T/tick.toml"
run 0 start tick
ticked() { "$SPMI" logs tick 2>/dev/null | grep -q '^tick$'; }
wait_for 3 ticked || fail "no tick in \`spmi logs\` within 3 s"
"$SPMI" logs tick 2>/dev/null | grep -qF "seen PYTHONUNBUFFERED=[1]" || fail "the task did not see PYTHONUNBUFFERED=1"
pass "a python3 task that never flushes shows its output within 3 s"

task_toml "$T/own.toml" own "exec python3 $T/tick.py" "$BACKEND" 'env = { PYTHONUNBUFFERED = "" }'
run 0 load "$T/own.toml"
run 0 start own
sleep 2
run 0 stop own
grep -qF "seen PYTHONUNBUFFERED=[]" "$SPMI_PATH/own/stdout" || fail "the descriptor's PYTHONUNBUFFERED = \"\" was not respected: $(cat "$SPMI_PATH/own/stdout")"
pass "the descriptor's PYTHONUNBUFFERED wins"
echo "python_output ($BACKEND): all passed"
