#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# spmi resurrect after a simulated reboot ($BACKEND: local, screen or tmux): every process of the test's
# spmi and its tasks is SIGKILLed at once and the boot ID changes. Then the tasks wanted up with
# autostart on run again exactly once; the stopped, autostart=false and finished ones do not; a live
# decoy put in a stale run.json is never signalled; a second resurrect starts nothing; a wrapper that
# died in this boot (a crash) is left alone, saying why.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

# A private boot ID (wrappers inherit it) and, for screen and tmux, private servers: this test may
# SIGKILL its own servers, never those of other tests or users.
export SPMI_BOOT_ID_FILE="$T/boot_id"
cat /proc/sys/kernel/random/uuid >"$SPMI_BOOT_ID_FILE"
case $BACKEND in
screen) need screen; export SCREENDIR="$T/screens"; mkdir -m 700 "$SCREENDIR" ;;
tmux) need tmux; export TMUX_TMPDIR="$T"; unset TMUX TMUX_PANE ;;
esac
resurrect_cleanup() {
  if [ -n "${decoy:-}" ]; then kill "$decoy" 2>/dev/null || true; fi
  "$SPMI" kill '.*' >/dev/null 2>&1 || true
  if [ "$BACKEND" = tmux ]; then tmux -L spmi kill-server 2>/dev/null || true; fi
  if [ "$BACKEND" = screen ]; then screen -wipe >/dev/null 2>&1 || true; fi
  cleanup
}
trap resurrect_cleanup EXIT

count() { pgrep -fc "^sleep $1\.$TAG" || true; }
has_count() { [ "$(count "$1")" = "$2" ]; }
# Every process of this test's spmi: wrappers and watchdogs (`spmi __run $SPMI_PATH/<id> ...`), the
# screen servers (their command line holds the wrapper's), the private tmux server, the tasks.
test_pids() {
  pgrep -f -- "$SPMI_PATH" || true
  pgrep -f "sleep 11[0-9][0-9]\.$TAG" || true
  if [ "$BACKEND" = tmux ]; then tmux -L spmi display-message -p '#{pid}' 2>/dev/null || true; fi
}
all_inactive() { ! "$SPMI" list 2>/dev/null | grep -qE '^[a-z_0-9]+ +active'; }

task_toml up1.toml up1 "sleep 1101.$TAG" "$BACKEND" 'restart = "always"'
task_toml up2.toml up2 "sleep 1102.$TAG" "$BACKEND" 'restart = "on-failure"'
task_toml off.toml off "sleep 1103.$TAG" "$BACKEND" 'restart = "always"' 'autostart = false'
task_toml stopped.toml stopped "sleep 1104.$TAG" "$BACKEND" 'restart = "always"'
task_toml done.toml done "echo finished" "$BACKEND" 'restart = "on-failure"'
task_toml sb.toml sb "sleep 1106.$TAG" "$BACKEND" 'restart = "always"'
run 0 load up1.toml up2.toml off.toml stopped.toml done.toml sb.toml
run 0 start 'up1|up2|off|stopped|done'
run 0 stop stopped
wait_for 10 is_inactive done || fail "done did not finish by itself"
for n in 1101 1102 1103; do has_count $n 1 || fail "sleep $n runs $(count $n) times before the reboot"; done
pass "before the reboot: up1, up2, off run; stopped stopped; done finished"

# The reboot: one SIGKILL for every process at once, then a new boot ID.
pids=$(test_pids | sort -u | tr '\n' ' ')
[ -n "$pids" ] || fail "no processes found to kill"
kill -9 $pids 2>/dev/null || true
wait_for 10 all_inactive || fail "still active after SIGKILL: $("$SPMI" list 2>&1)"
wait_for 10 [ -z "$(test_pids)" ] || fail "processes survived the SIGKILL: $(test_pids)"
if [ "$BACKEND" = screen ]; then screen -wipe >/dev/null 2>&1 || true; fi
cat /proc/sys/kernel/random/uuid >"$SPMI_BOOT_ID_FILE"
# A stale run record whose pids now name a live process of someone else: never to be signalled.
sleep 1199.$TAG &
decoy=$!
sed -i -E "s/\"wrapper_pid\":[0-9]+/\"wrapper_pid\":$decoy/; s/\"pid\":[0-9]+/\"pid\":$decoy/" "$SPMI_PATH/up1/run.json"
grep -q "\"pid\":$decoy" "$SPMI_PATH/up1/run.json" || fail "could not plant the decoy pid"
pass "simulated reboot: $(wc -w <<<"$pids") processes killed, new boot ID"

# --dry-run decides and changes nothing.
run 0 resurrect --dry-run
out_has "up1: would start (wanted up, autostart on, running when boot"
out_has "off: skipped: autostart is off"
[ ! -e "$SPMI_PATH/resurrect.log" ] || fail "--dry-run wrote resurrect.log"
has_count 1101 0 || fail "--dry-run started up1"
pass "resurrect --dry-run"

run 0 resurrect
out_has "up1: started (wanted up, autostart on, running when boot"
out_has "up2: started ("
out_has "off: skipped: autostart is off"
out_has "stopped: skipped: stopped by the user (spmi stop)"
out_has "done: skipped: not running when the host went down (it exited with code 0"
out_has "sb: skipped: not running when the host went down (never started)"
err_has "Resurrected 2 of 6 manageables"
is_active up1 && is_active up2 || fail "up1/up2 not active after resurrect"
wait_for 10 has_count 1101 1 || fail "sleep 1101 runs $(count 1101) times"
wait_for 10 has_count 1102 1 || fail "sleep 1102 runs $(count 1102) times"
for n in 1103 1104; do has_count $n 0 || fail "sleep $n runs after resurrect"; done
grep -q finished "$SPMI_PATH/done/stdout" && [ "$(grep -c finished "$SPMI_PATH/done/stdout")" = 1 ] || fail "done ran again"
kill -0 "$decoy" || fail "the decoy pid from the stale run.json was signalled"
grep -qE '^[0-9-]+ [0-9:]+[-+][0-9]{4} boot [0-9a-f]{8}: up1: started' "$SPMI_PATH/resurrect.log" ||
  fail "resurrect.log: $(cat "$SPMI_PATH/resurrect.log")"
pass "resurrect: wanted ones run once, others not, decoy alive, logged"

run 0 resurrect
out_has "up1: skipped: already active"
err_has "Resurrected 0 of 6 manageables"
sleep 0.5
has_count 1101 1 && has_count 1102 1 || fail "second resurrect started more: $(count 1101) $(count 1102)"
run 0 resurrect 'up.*'
out_has "up2: skipped: already active"
out_lacks "off:"
pass "second resurrect starts nothing; patterns select"

# Same boot: a wrapper that dies in this boot is a crash, not a reboot.
run 0 start sb
sb_pids=$( (pgrep -f -- "$SPMI_PATH/sb " || true; pgrep -f "sleep 1106\.$TAG" || true) | tr '\n' ' ')
kill -9 $sb_pids 2>/dev/null || true
wait_for 10 is_inactive sb || fail "sb still active after SIGKILL"
run 0 resurrect sb
out_has "sb: skipped: same boot: its wrapper (pid"
out_has '`spmi start sb` starts it again'
sleep 0.3
has_count 1106 0 || fail "sb was resurrected in the same boot"
pass "same boot: not resurrected, says why"
echo "resurrect ($BACKEND): all passed"
