#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# max_memory (issue #16, point 8): a real python3 that grows by 20 MB a second is stopped within a few
# seconds of going past max_memory = "60M", restarted once (on-failure: it counts as a failure), then
# failed (max_restarts = 1); status and status --json give the reason with the last exit, wrapper.log
# has the line; a task below the limit is left alone.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}
need python3

state_of() { "$SPMI" list 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }

# Grows by 20 MB a second (pages touched) up to 300 MB, printing how much it holds, then waits.
cat >"$T/grow.py" <<'PY'
import time
held = []
while len(held) < 15:
    held.append(b"\1" * (20 << 20))
    print(f"holding {20 * len(held)} MB", flush=True)
    time.sleep(1)
time.sleep(600)
PY
cat >"$T/steady.py" <<'PY'
import time
held = b"\1" * (10 << 20)
print("ready", flush=True)
time.sleep(600)
PY
task_toml hog.toml hog "echo run >>$T/hog.runs; exec python3 $T/grow.py" "$BACKEND" \
  'restart = "on-failure"' 'restart_delay = 0.5' 'max_restarts = 1' 'restart_window = 120' 'max_memory = "60M"'
task_toml steady.toml steady "exec python3 $T/steady.py" "$BACKEND" 'restart = "on-failure"' 'max_memory = "60M"'
run 0 load hog.toml steady.toml
run 0 start hog steady

wait_for 40 is_state hog failed || fail "hog is not failed: $(state_of hog); $(cat "$SPMI_PATH/hog/wrapper.log")"
[ "$(wc -l <"$T/hog.runs")" = 2 ] || fail "expected 2 attempts (1 + 1 restart), got $(wc -l <"$T/hog.runs")"
# Each attempt went past 60 MB after about 3 s (its 3rd 20 MB, plus python itself) and was stopped
# within a few samples: it never got near 300 MB.
most=$(grep -o 'holding [0-9]*' "$SPMI_PATH/hog/stdout" | awk '{ print $2 }' | sort -n | tail -1)
[ -n "$most" ] && [ "$most" -le 120 ] || fail "hog held up to $most MB before it was stopped"
[ "$(grep -c 'max_memory 60M exceeded: [0-9.]*[MG]; stopping the task' "$SPMI_PATH/hog/wrapper.log")" = 2 ] \
  || fail "wrapper.log lacks the two max_memory lines: $(cat "$SPMI_PATH/hog/wrapper.log")"
pass "stopped past max_memory (at most $most MB held), restarted once, then failed"

run 0 status hog
out_has "Active: failed since "
out_has "Memory limit: 60M (max_memory, sampled every 1 s)"
out_has "Restart policy: on-failure (at most 1 restart in 120 s; delay 0.5 s, doubling up to 60 s)"
grep -qE '^Exit code: 130 \(killed by SIGINT; exceeded max_memory \([0-9.]+[MG] > 60M\)\)$' "$T/out" \
  || fail "the exit code line lacks the reason"
grep -qE '^Restarts: 1 \(last exit: 130 \(killed by SIGINT; exceeded max_memory \([0-9.]+[MG] > 60M\)\) at ' "$T/out" \
  || fail "the Restarts line lacks the reason"
run 0 status --json hog
python3 - "$T/out" <<'PY' || fail "status --json lacks the reason"
import json, re, sys
e = json.load(open(sys.argv[1]))["manageables"][0]
assert e["state"] == "failed" and e["restarts"] == 1, e
last = e["last_exit"]
assert last["signal"] == "SIGINT" and re.fullmatch(r"exceeded max_memory \([0-9.]+[MG] > 60M\)", last["reason"]), last
assert e["plugins"]["DefaultWrapper"]["max_memory_bytes"] == 60 << 20, e["plugins"]
PY
pass "status and status --json give the reason"

# Below the limit: untouched.
is_state steady active || fail "steady is not active: $(state_of steady)"
run 0 status steady
out_has "Exit code: -"
out_lacks "Restarts:"
! grep -q "max_memory" "$SPMI_PATH/steady/wrapper.log" 2>/dev/null || fail "steady was checked out: $(cat "$SPMI_PATH/steady/wrapper.log")"
run 0 stop steady
pass "a task below max_memory is left alone"

# The key's value is checked at load.
task_toml tiny.toml tiny "true" "$BACKEND" 'max_memory = "10K"'
run 3 load tiny.toml
err_has "max_memory"
pass "a max_memory below the minimum is refused"
echo "max_memory ($BACKEND): all passed"
