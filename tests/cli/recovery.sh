#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A killed wrapper is not the end of a service ($BACKEND: local, screen or tmux), in both membership
# modes (a cgroup where one can be had, and SPMI_MEMBERSHIP=fallback):
#  1. restart = "always": SIGKILL of the wrapper; the watchdog ends the old tree, and after the backoff a
#     new wrapper starts the task again; the manageable never looks inactive meanwhile; stop ends it for
#     good.
#  2. the recoveries count against max_restarts: the second SIGKILL gives up (failed), nothing left.
#  3. no policy: SIGKILL of the wrapper leaves the task inactive and nothing running.
#  4. (screen, tmux) the death of the whole session: the task comes back in the surviving wrapper.
#  5. SIGKILL of the watchdog alone: the task runs on, the wrapper starts another watchdog, which then
#     replaces the wrapper when that is SIGKILLed; stop still ends it.
#  6. (local) a task started from inside another task: its recovered wrapper, reparented to the outer
#     task's wrapper, is not disturbed when the outer task ends (no signal passed on, no restart).
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

# Private screen and tmux servers: this test quits sessions and kills servers, never those of others.
case $BACKEND in
screen) need screen; export SCREENDIR="$T/screens"; mkdir -m 700 "$SCREENDIR" ;;
tmux) need tmux; export TMUX_TMPDIR="$T"; unset TMUX TMUX_PANE ;;
local) ;;
*) fail "unknown BACKEND $BACKEND" ;;
esac
recovery_cleanup() {
  [ -z "${sampler:-}" ] || kill "$sampler" 2>/dev/null || true
  "$SPMI" kill '.*' >/dev/null 2>&1 || true
  if [ "$BACKEND" = tmux ]; then tmux -L spmi kill-server 2>/dev/null || true; fi
  if [ "$BACKEND" = screen ]; then screen -wipe >/dev/null 2>&1 || true; fi
  pkill -9 -f "^sleep 1[0-9]+\.$TAG\$" 2>/dev/null || true
  cleanup
}
trap recovery_cleanup EXIT

# Time bounds: sanitized builds are slow.
B=8
[ -z "${SPMI_TEST_SANITIZED:-}" ] || B=30

field() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$SPMI_PATH/$1/run.json" 2>/dev/null; }
state_of() { "$SPMI" list 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
# Its wrapper runs it: active, or restarting while the replacement waits out the backoff.
is_running() { case "$(state_of "$1")" in active | restarting) return 0 ;; esac; return 1; }
# Alive: neither a zombie (an orphan waits for whatever pid 1 is here to reap it; it is dead all the same)
# nor exiting (PF_EXITING, 0x4 in the flags, field 9 of stat: a SIGKILLed process has left its cgroup and
# closed its files some moments before it turns into a zombie; it runs no code of its own any more).
alive() {
  local rest
  rest=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$rest" ] || return 1
  set -- $rest  # state ppid pgrp session tty_nr tpgid flags ...
  case $1 in Z | X) return 1 ;; esac
  (( ($7 & 4) == 0 ))
}
# Task processes of tree $1 (a two-digit prefix), by their tagged command lines.
procs() { pgrep -f "^sleep 1$1[1-3]\.$TAG\$" | sort -n || true; }
count() { procs "$1" | wc -l; }
has_count() { [ "$(count "$1")" = "$2" ]; }
none_left() { [ -z "$(procs "$1")" ]; }
describe() { local p; p=$(procs "$1" | paste -sd,); [ -z "$p" ] || ps -o pid,sid,args -p "$p" | tr '\n' ';'; }
# A tree: a background child, a setsid child, and the foreground sleep.
tree() { echo "sleep 1${1}1.$TAG & setsid sleep 1${1}2.$TAG & echo up; sleep 1${1}3.$TAG"; }
# Is every pid in the list "$1" dead?
all_dead() { local p; for p in $1; do ! alive "$p" || return 1; done; }

# start_tree ID PREFIX: starts the manageable and waits for its whole tree.
start_tree() {
  run 0 start "$1"
  wait_for "$B" has_count "$2" 3 || fail "$1: tree not complete: $(describe "$2")"
  wait_for "$B" sh -c "[ -n \"\$(sed -n 's/.*\"pid\":\([0-9]*\).*/\1/p' '$SPMI_PATH/$1/run.json')\" ]" \
    || fail "$1: no pid recorded"
}

# recover ID PREFIX: the wrapper was just SIGKILLed, with $old (task pids), $old_wrapper and $old_main
# set. Waits for a new wrapper and a new tree, checking all along that the manageable stays active and
# that no new task process runs while an old one is alive.
recover() {
  local id=$1 prefix=$2 deadline=$((SECONDS + B)) samples=0 wrapper main now new
  while true; do
    is_running "$id" || fail "$id looked $(state_of "$id") during its recovery"
    samples=$((samples + 1))
    now=$(procs "$prefix")
    new=$(comm -13 <(tr ' ' '\n' <<<"$old" | sort) <(echo "$now" | sort) | grep . || true)
    if [ -n "$new" ] && ! all_dead "$old"; then
      fail "$id: new processes ($new) run while old ones live: $(describe "$prefix")"
    fi
    wrapper=$(field "$id" wrapper_pid)
    main=$(field "$id" pid)
    if [ -n "$wrapper" ] && [ "$wrapper" != "$old_wrapper" ] && [ -n "$main" ] && [ "$main" != "$old_main" ] \
      && [ "$(wc -w <<<"$new")" = 3 ]; then
      break
    fi
    [ "$SECONDS" -lt "$deadline" ] || fail "$id: no recovery within $B s: wrapper $wrapper (old $old_wrapper), pid $main (old $old_main), $(describe "$prefix"); $(cat "$SPMI_PATH/$id/wrapper.log" 2>/dev/null)"
    sleep 0.1
  done
  # Never inactive: `list` said so at each of its $samples looks, the lock sampler at each of its own.
  stop_sampler "$id"
  all_dead "$old" || fail "$id: old processes live after the recovery: $(describe "$prefix")"
  alive "$wrapper" || fail "$id: the new wrapper $wrapper is not alive"
  alive "$(field "$id" watchdog_pid)" || fail "$id: the new wrapper has no live watchdog"
}

# start_sampler ID: looks at ID's alive lock as `list` does (F_OFD_GETLK, the whole file) in a tight loop
# until stop_sampler, counting looks and the looks that found it unlocked (which `list` shows inactive).
# `list` itself is too slow to look often under the sanitizers; this looks thousands of times a second.
start_sampler() {
  rm -f "$T/sampler.stop"
  : >"$T/sampler.out"
  python3 - "$SPMI_PATH/$1/alive" "$T/sampler.stop" >"$T/sampler.out" <<'PY' &
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
query = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)
looks = gaps = 0
print("ready", flush=True)
deadline = time.monotonic() + 300
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    for _ in range(100):
        looks += 1
        gaps += struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_OFD_GETLK, query))[0] == fcntl.F_UNLCK
print(looks, gaps, flush=True)
PY
  sampler=$!
  wait_for 5 grep -qx ready "$T/sampler.out" || fail "$1: the lock sampler did not start"
}

# stop_sampler ID: ends the sampler; fails if it ever found the lock free, or looked too little to tell.
stop_sampler() {
  touch "$T/sampler.stop"
  wait "$sampler" || fail "$1: the lock sampler failed"
  local looks gaps
  read -r looks gaps < <(sed -n 2p "$T/sampler.out")
  [ "${gaps:-1}" = 0 ] || fail "$1: its alive lock was free $gaps times in $looks looks during the recovery"
  [ "${looks:-0}" -ge 100 ] || fail "$1: the lock sampler looked only ${looks:-0} times"
}

# kill_wrapper ID PREFIX [unsampled]: records the tree, then SIGKILLs the wrapper, its alive lock sampled
# meanwhile for recover() (not where no recovery follows).
kill_wrapper() {
  old=$(procs "$2" | tr '\n' ' ')
  old_wrapper=$(field "$1" wrapper_pid)
  old_main=$(field "$1" pid)
  [ -n "$old_wrapper" ] && alive "$old_wrapper" || fail "$1: no live wrapper to kill ($old_wrapper)"
  [ "${3:-}" = unsampled ] || start_sampler "$1"
  kill -9 "$old_wrapper"
}

# membership_is ID MODE: status names the membership the run uses.
membership_is() {
  run 0 status "$1"
  if [ "$2" = fallback ]; then
    out_has "Membership: process tree (fallback"
  else
    grep -qE '^Membership: (cgroup |process tree \(fallback)' "$T/out" || fail "$1: no membership line"
  fi
}

scenarios() {
  local m=$1 mode=$2 id p
  echo "--- $BACKEND, membership $mode"
  if [ "$mode" = fallback ]; then export SPMI_MEMBERSHIP=fallback; else unset SPMI_MEMBERSHIP; fi

  # 1. restart = "always": SIGKILL of the wrapper, recovered; then stop ends it for good.
  id=always$m p=${m}1
  task_toml "$id.toml" "$id" "$(tree "$p")" "$BACKEND" 'restart = "always"' 'restart_delay = 1'
  run 0 load "$id.toml"
  start_tree "$id" "$p"
  membership_is "$id" "$mode"
  out_has "Active: active"
  kill_wrapper "$id" "$p"
  recover "$id" "$p"
  [ "$(field "$id" restarts)" = 1 ] || fail "$id: restarts $(field "$id" restarts), expected 1"
  [ "$(field "$id" recoveries)" = 1 ] || fail "$id: recoveries $(field "$id" recoveries), expected 1"
  membership_is "$id" "$mode"
  out_has "Active: active"
  out_has "Restarts: 1"
  out_has "PID: $(field "$id" pid)"
  grep -q "the wrapper (pid $old_wrapper) was killed" "$SPMI_PATH/$id/wrapper.log" \
    || fail "$id: wrapper.log does not say the wrapper was killed"
  pass "$BACKEND/$mode: SIGKILLed wrapper recovered: new wrapper, new tree, old tree gone first, never inactive"
  run 0 stop "$id"
  none_left "$p" || fail "$id: processes left after stop: $(describe "$p")"
  is_state "$id" inactive || fail "$id is $(state_of "$id") after stop"
  sleep 2
  is_state "$id" inactive || fail "$id is $(state_of "$id") 2 s after stop"
  none_left "$p" || fail "$id: restarted after stop: $(describe "$p")"
  pass "$BACKEND/$mode: stop after a recovery ends it for good"

  # 2. Recoveries count against max_restarts.
  id=budget$m p=${m}2
  task_toml "$id.toml" "$id" "$(tree "$p")" "$BACKEND" 'restart = "always"' 'restart_delay = 1.5' \
    'max_restarts = 1' 'restart_window = 600'
  run 0 load "$id.toml"
  start_tree "$id" "$p"
  kill_wrapper "$id" "$p"
  recover "$id" "$p"
  kill_wrapper "$id" "$p" unsampled
  wait_for "$B" is_state "$id" failed || fail "$id is $(state_of "$id") after the second SIGKILL, expected failed"
  wait_for "$B" none_left "$p" || fail "$id: processes left after giving up: $(describe "$p")"
  run 0 status "$id"
  out_has "Active: failed"
  out_has "Restarts: 1"
  out_has "Note: the wrapper (pid $old_wrapper) was killed; spmi ended the task's processes; gave up restarting it"
  grep -qF "the wrapper (pid $old_wrapper) was killed; spmi ended the task's processes and gave up restarting it (max_restarts = 1)" \
    "$SPMI_PATH/$id/wrapper.log" || fail "$id: wrapper.log does not say why it gave up: $(cat "$SPMI_PATH/$id/wrapper.log")"
  grep -q '"failed":true' "$SPMI_PATH/$id/run.json" || fail "$id: run.json lacks failed=true"
  sleep 1.5
  none_left "$p" || fail "$id: started again after giving up: $(describe "$p")"
  is_state "$id" failed || fail "$id is $(state_of "$id") 1.5 s after giving up"
  pass "$BACKEND/$mode: recoveries count against max_restarts"

  # 3. No policy: a SIGKILLed wrapper is the end of the run.
  id=nopolicy$m p=${m}3
  task_toml "$id.toml" "$id" "$(tree "$p")" "$BACKEND"
  run 0 load "$id.toml"
  start_tree "$id" "$p"
  kill_wrapper "$id" "$p" unsampled
  wait_for "$B" is_inactive "$id" || fail "$id is $(state_of "$id") after its wrapper was killed"
  wait_for "$B" none_left "$p" || fail "$id: processes left: $(describe "$p")"
  all_dead "$old" || fail "$id: old processes live: $old"
  run 0 status "$id"
  out_has "Active: inactive"
  out_has "Note: the wrapper (pid $old_wrapper) was killed; spmi ended the task's processes"
  out_lacks "gave up"
  [ "$(field "$id" restarts)" = 0 ] || fail "$id: restarts $(field "$id" restarts)"
  pass "$BACKEND/$mode: no policy, SIGKILLed wrapper: inactive, nothing left"

  # 4. The death of the whole session: the task comes back in the wrapper, which outlives its session.
  if [ "$BACKEND" != local ]; then
    id=session$m p=${m}4
    task_toml "$id.toml" "$id" "$(tree "$p")" "$BACKEND" 'restart = "always"' 'restart_delay = 1'
    run 0 load "$id.toml"
    start_tree "$id" "$p"
    old=$(procs "$p" | tr '\n' ' ')
    old_main=$(field "$id" pid)
    if [ "$BACKEND" = screen ]; then
      screen -S "spmi.$id" -X quit || fail "screen -X quit failed: $(screen -ls 2>&1)"
    else
      tmux -L spmi kill-server || fail "tmux kill-server failed"
    fi
    local deadline=$((SECONDS + B)) main new
    while true; do
      is_running "$id" || fail "$id looked $(state_of "$id") after its session died"
      main=$(field "$id" pid)
      new=$(comm -13 <(tr ' ' '\n' <<<"$old" | sort) <(procs "$p" | sort) | grep . || true)
      if [ -n "$new" ] && ! all_dead "$old"; then
        fail "$id: new processes ($new) run while old ones live: $(describe "$p")"
      fi
      if [ -n "$main" ] && [ "$main" != "$old_main" ] && [ "$(wc -w <<<"$new")" = 3 ]; then break; fi
      [ "$SECONDS" -lt "$deadline" ] || fail "$id: not back within $B s after its session died: pid $main (old $old_main), $(describe "$p"); $(cat "$SPMI_PATH/$id/wrapper.log" 2>/dev/null)"
      sleep 0.1
    done
    all_dead "$old" || fail "$id: old processes live: $(describe "$p")"
    sleep 1
    is_active "$id" || fail "$id is $(state_of "$id") 1 s after it came back"
    run 0 status "$id"
    out_has "Restarts: 1 (last exit: 129 (killed by SIGHUP)"
    pass "$BACKEND/$mode: the task came back after its session died"
    run 0 stop "$id"
    none_left "$p" || fail "$id: processes left after stop: $(describe "$p")"
    sleep 1.5
    is_state "$id" inactive || fail "$id is $(state_of "$id") after stop"
    none_left "$p" || fail "$id: restarted after stop: $(describe "$p")"
    pass "$BACKEND/$mode: stop after the session died"
  fi

  # 5. SIGKILL of the watchdog alone: the task runs on, and stop still ends it.
  id=watchdog$m p=${m}5
  task_toml "$id.toml" "$id" "$(tree "$p")" "$BACKEND" 'restart = "always"' 'restart_delay = 1'
  run 0 load "$id.toml"
  start_tree "$id" "$p"
  old=$(procs "$p" | tr '\n' ' ')
  old_main=$(field "$id" pid)
  old_wrapper=$(field "$id" wrapper_pid)
  local watchdog
  watchdog=$(field "$id" watchdog_pid)
  alive "$watchdog" || fail "$id: no live watchdog ($watchdog)"
  kill -9 "$watchdog"
  wait_for "$B" sh -c "! kill -0 $watchdog 2>/dev/null" || fail "$id: the watchdog survived SIGKILL"
  sleep 2
  is_active "$id" || fail "$id is $(state_of "$id") after its watchdog was killed"
  [ "$(procs "$p" | tr '\n' ' ')" = "$old" ] || fail "$id: the tree changed: $old -> $(procs "$p" | tr '\n' ' ')"
  [ "$(field "$id" pid)" = "$old_main" ] || fail "$id: main pid changed"
  [ "$(field "$id" wrapper_pid)" = "$old_wrapper" ] || fail "$id: wrapper changed"
  pass "$BACKEND/$mode: SIGKILL of the watchdog alone: the task runs on"
  # The wrapper started another watchdog, which still answers a SIGKILL of the wrapper.
  new_watchdog=$(field "$id" watchdog_pid)
  [ "$new_watchdog" != "$watchdog" ] && alive "$new_watchdog" ||
    fail "$id: no new watchdog ($watchdog -> $new_watchdog)"
  kill -9 "$old_wrapper"
  wait_for "$B" sh -c "[ \"\$(sed -n 's/.*\"wrapper_pid\":\([0-9]*\).*/\1/p' $SPMI_PATH/$id/run.json)\" != $old_wrapper ]" ||
    fail "$id: the new watchdog did not replace the killed wrapper"
  wait_for "$B" sh -c "[ \"\$(sed -n 's/.*\"pid\":\([0-9]*\).*/\1/p' $SPMI_PATH/$id/run.json)\" != $old_main ]" ||
    fail "$id: the task was not started again"
  is_active "$id" || fail "$id is $(state_of "$id") after its wrapper was replaced"
  pass "$BACKEND/$mode: a new watchdog replaces the killed watchdog"
  run 0 stop "$id"
  none_left "$p" || fail "$id: processes left after stop: $(describe "$p")"
  is_state "$id" inactive || fail "$id is $(state_of "$id") after stop"
  pass "$BACKEND/$mode: stop after the wrapper was replaced"

  # 6. A recovered wrapper whose new parent (the outer task's wrapper, a subreaper) ends.
  if [ "$BACKEND" = local ]; then
    id=inner$m p=${m}6
    task_toml "$id.toml" "$id" "$(tree "$p")" local 'restart = "always"' 'restart_delay = 0.5'
    task_toml "outer$m.toml" "outer$m" "\"$SPMI\" start $id; echo outer up; sleep 3600.$TAG" local
    run 0 load "$id.toml" "outer$m.toml"
    run 0 start "outer$m"
    wait_for "$B" has_count "$p" 3 || fail "$id: tree not complete: $(describe "$p")"
    wait_for "$B" sh -c "[ -n \"\$(sed -n 's/.*\"pid\":\([0-9]*\).*/\1/p' '$SPMI_PATH/$id/run.json')\" ]" \
      || fail "$id: no pid recorded"
    kill_wrapper "$id" "$p"
    recover "$id" "$p"
    old=$(procs "$p" | tr '\n' ' ')
    old_main=$(field "$id" pid)
    run 0 stop "outer$m"
    sleep 2
    is_active "$id" || fail "$id is $(state_of "$id") after the outer task ended"
    [ "$(procs "$p" | tr '\n' ' ')" = "$old" ] || fail "$id: its tree changed when the outer task ended: $(describe "$p"); $(cat "$SPMI_PATH/$id/wrapper.log")"
    [ "$(field "$id" restarts)" = 1 ] || fail "$id: restarts $(field "$id" restarts) after the outer task ended, expected 1"
    run 0 stop "$id"
    none_left "$p" || fail "$id: processes left after stop: $(describe "$p")"
    pass "$BACKEND/$mode: a recovered wrapper outlives its new parent undisturbed"
  fi
  unset SPMI_MEMBERSHIP
}

scenarios 1 default
scenarios 2 fallback
echo "recovery ($BACKEND): all passed"
