#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Restart policy (local backend): on-failure restarts a crash with doubling delays, gives up after
# max_restarts within restart_window (list: failed, status: count and last exit); always restarts a
# clean exit; on-failure leaves exit 0 alone; a user's stop or kill, during a run or a backoff delay,
# ends the task without a restart.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

state_of() { "$SPMI" list 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
has_lines() { [ "$(lines "$1")" = "$2" ]; }

# A crash, restarted with growing delays, then marked failed. Each attempt writes its start time.
task_toml crash.toml crash "date +%s.%N >>$T/crash.times; echo attempt; exit 3" "$BACKEND" \
  'restart = "on-failure"' 'restart_delay = 0.3' 'restart_delay_max = 10' 'max_restarts = 3' 'restart_window = 120'
run 0 load crash.toml
run 0 start crash
wait_for 20 is_state crash failed || fail "crash is not failed: $(state_of crash); $(cat "$T/crash.times")"
[ "$(lines "$T/crash.times")" = 4 ] || fail "expected 4 attempts (1 + 3 restarts), got $(lines "$T/crash.times")"
# The gaps between attempts: about 0.3, 0.6, 1.2 s, each larger than the last and at least its delay.
awk 'NR > 1 { gap = $1 - prev; printf "%.3f\n", gap } { prev = $1 }' "$T/crash.times" >"$T/gaps"
awk -v want="0.3 0.6 1.2" 'BEGIN { n = split(want, w, " ") }
     { if ($1 < w[NR] - 0.02) { print "gap " NR " is " $1 " s, less than " w[NR]; bad = 1 }
       if (NR > 1 && $1 <= last) { print "gap " NR " (" $1 ") did not grow"; bad = 1 }
       last = $1 }
     END { exit bad }' "$T/gaps" || fail "delays do not grow: $(tr '\n' ' ' <"$T/gaps")"
pass "crash restarted with growing delays: $(tr '\n' ' ' <"$T/gaps")"
run 0 list
grep -qE '^crash +failed .*Comment of crash$' "$T/out" || fail "list does not show failed"
run 0 status crash
out_has "Active: failed since"
out_has "Restarts: 3 (last exit: 3 at "
out_has "Exit code: 3"
out_has "Note: gave up restarting it (max_restarts reached within restart_window)"
# The count is the Restarts line's, said once (the note used to repeat it).
[ "$(grep -c "3 automatic restart\|Restarts: 3" "$T/out")" = 1 ] || fail "the restart count is shown more than once: $(cat "$T/out")"
out_has "attempt"
out_lacks "Next attempt"
pass "failed: list and status"
# It stays down: the wrapper is gone (inactive), so nothing can start it again.
[ "$(lines "$T/crash.times")" = 4 ] || fail "a failed manageable ran again"
# A new start clears the state: it runs (and fails) again from zero.
: >"$T/crash.times"
run 0 start crash
wait_for 20 is_state crash failed || fail "crash did not fail again"
[ "$(lines "$T/crash.times")" = 4 ] || fail "second start: $(lines "$T/crash.times") attempts"
pass "start after failed starts afresh"

# always restarts a clean exit.
task_toml always.toml always "echo run >>$T/always.runs; exit 0" "$BACKEND" \
  'restart = "always"' 'restart_delay = 0.05' 'max_restarts = 2'
run 0 load always.toml
run 0 start always
wait_for 20 is_state always failed || fail "always: $(state_of always)"
[ "$(lines "$T/always.runs")" = 3 ] || fail "always ran $(lines "$T/always.runs") times, expected 3"
run 0 status always
out_has "Restarts: 2 (last exit: 0"
pass "always restarts a clean exit"

# on-failure does not restart exit 0.
task_toml clean.toml cleanexit "echo run >>$T/clean.runs; exit 0" "$BACKEND" 'restart = "on-failure"' 'restart_delay = 0'
run 0 load clean.toml
run 0 start cleanexit
wait_for 20 is_state cleanexit inactive || fail "cleanexit: $(state_of cleanexit)"
[ "$(lines "$T/clean.runs")" = 1 ] || fail "on-failure restarted exit 0"
run 0 status cleanexit
out_has "Exit code: 0"
out_lacks "Restarts:"
pass "on-failure leaves exit 0 alone"

# A stop during a run: no restart, even with always.
task_toml long.toml long "echo run >>$T/long.runs; echo up; exec sleep 300" "$BACKEND" 'restart = "always"' 'restart_delay = 0'
run 0 load long.toml
run 0 start long
wait_for 10 grep -qx up "$SPMI_PATH/long/stdout" || fail "long did not start"
run 0 stop long
is_state long inactive || fail "long after stop: $(state_of long)"
[ "$(lines "$T/long.runs")" = 1 ] || fail "stop restarted the task"
run 0 status long
out_has "Exit code: 130 (killed by SIGINT)"
pass "stop during a run"
# Same for kill.
run 0 start long
wait_for 10 has_lines "$T/long.runs" 2 || fail "long did not start again"
run 0 kill long
is_state long inactive || fail "long after kill: $(state_of long)"
[ "$(lines "$T/long.runs")" = 2 ] || fail "kill restarted the task"
pass "kill during a run"

# A stop during a backoff delay ends the wrapper promptly, without another attempt.
task_toml slow.toml slowretry "echo run >>$T/slow.runs; exit 4" "$BACKEND" 'restart = "on-failure"' 'restart_delay = 60'
run 0 load slow.toml
for verb in stop kill; do
  run 0 start slowretry
  wait_for 10 sh -c "'$SPMI' status slowretry 2>/dev/null | grep -q '^Next attempt: '" || fail "no backoff shown"
  run 0 status slowretry
  out_has "Active: restarting"
  out_has "Restarts: 1 (last exit: 4"
  grep -qE '^Next attempt: .* \(in 0:0[01]:[0-9]{2}\)$' "$T/out" || fail "next attempt line: $(grep Next "$T/out")"
  before=$(lines "$T/slow.runs")
  start=$(date +%s%N)
  run 0 "$verb" slowretry
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$elapsed" -lt 3000 ] || fail "$verb during the delay took $elapsed ms"
  is_state slowretry inactive || fail "slowretry after $verb: $(state_of slowretry)"
  [ "$(lines "$T/slow.runs")" = "$before" ] || fail "$verb during the delay started another attempt"
  run 0 status slowretry
  out_has "Exit code: 4"
  out_lacks "Next attempt"
  pass "$verb during a backoff delay ($elapsed ms)"
done
echo "restart ($BACKEND): all passed"
