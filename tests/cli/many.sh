#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Many manageables in one call: start, stop and kill of more manageables than the open-file limit
# allows locks at once (they go in batches), and stop waits for all together, so N tasks that ignore the
# stop signal cost one stop_timeout, not N.
source "$(dirname "$0")/common.sh"

count_state() { "$SPMI" list 2>/dev/null | awk -v s="$1" '$2 == s' | wc -l; }

# 150 tasks under a limit of 64 open files (the CLI itself needs a few dozen).
for i in $(seq 1 150); do
  printf '{"task":{"id":"m%03d","comment":"many %d","backend":{"type":"local"},"wrapper":{"type":"default","command":"sleep 600"}}}\n' \
    "$i" "$i" >"m$i.json"
done
run 0 load m*.json
# all_under_limit VERB DONE STATE: VERB of all 150 with 64 open files succeeds and leaves all in STATE.
all_under_limit() {
  local rc=0
  (ulimit -n 64 && exec "$SPMI" "$1" 'm.*') >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = 0 ] || fail "$1 of 150 with 64 open files exited $rc: $(grep -v '^\[\|ing manageable\|^$' "$T/err" | head -3)"
  err_has "$2 150 manageables"
  [ "$(count_state "$3")" = 150 ] || fail "$(count_state "$3") of 150 $3 after $1"
  pass "$1 of 150 with a limit of 64 open files"
}
all_under_limit start Started active
all_under_limit stop Stopped inactive
run 0 start 'm.*'
all_under_limit kill Killed inactive
run 0 status m001
out_has "killed by SIGKILL"
run 0 clean 'm.*'

# Six tasks that ignore SIGINT, stop_timeout 2 s: one after the other that is 12 s; together about 2 s.
for i in 1 2 3 4 5 6; do
  task_toml "deaf$i.toml" "deaf$i" 'trap "" INT; echo up; while :; do sleep 0.1; done' local 'stop_timeout = 2'
done
run 0 load deaf*.toml
run 0 start 'deaf.*'
for i in 1 2 3 4 5 6; do
  wait_for 5 grep -qx up "$SPMI_PATH/deaf$i/stdout" || fail "deaf$i did not start"
done
start=$(date +%s%N)
run 0 stop 'deaf.*'
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
for i in 1 2 3 4 5 6; do
  err_has "manageable 'deaf$i' did not stop within 2 s; killing it"
done
[ "$elapsed" -ge 1900 ] || fail "stop did not wait for stop_timeout ($elapsed ms)"
[ "$elapsed" -lt 8000 ] || fail "stop of 6 took $elapsed ms: the stop timeouts ran one after the other"
[ "$(count_state inactive)" = 6 ] || fail "not all deaf tasks ended"
run 0 status deaf6
out_has "Exit code: 137 (killed by SIGKILL)"
pass "stop of 6 deaf tasks escalates each after its own 2 s, together ($elapsed ms)"

# One error does not stop the others, and the exit status says so.
run 0 start deaf1 deaf2
run 1 stop deaf1 deaf2 deaf3
err_has "manageable 'deaf3' is inactive; nothing to stop"
err_has "Stopped 2 manageables"
pass "stop of several with one inactive: the others stop, exit 1"
echo "many: all passed"
