#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Concurrent spmi processes on one $SPMI_PATH: racing starts, loads, clean against start, and a storm
# of mixed commands from 4 clients. Afterwards every manageable is whole and no task process is left.
source "$(dirname "$0")/common.sh"
need screen

# Runs `spmi ARGS` N times at once; prints how many exited 0.
race() {
  local n=$1; shift
  local i
  for i in $(seq 1 "$n"); do ( rc=0; "$SPMI" "$@" >/dev/null 2>&1 || rc=$?; echo $rc > "$T/rc.$i" ) & done
  wait
  local ok=0
  for i in $(seq 1 "$n"); do [ "$(cat "$T/rc.$i")" = 0 ] && ok=$((ok + 1)); done
  rm -f "$T"/rc.*
  echo "$ok"
}

# Ten racing starts of one manageable: exactly one succeeds, exactly one copy runs.
task_toml one.toml one "sleep 1101.$TAG"
run 0 load one.toml
[ "$(race 10 start one)" = 1 ] || fail "racing starts: not exactly one success"
sleep 0.3
[ "$(pgrep -xfc "sleep 1101.$TAG")" = 1 ] || fail "racing starts: $(pgrep -xfc "sleep 1101.$TAG") copies run"
run 0 kill one
pass "ten racing starts"

# Racing loads of one ID (from ten different files): exactly one registers.
for i in $(seq 1 10); do task_toml "dup$i.toml" dup "echo from $i"; done
for i in $(seq 1 10); do ( rc=0; "$SPMI" load "dup$i.toml" >/dev/null 2>&1 || rc=$?; echo $rc > "$T/rc.$i" ) & done
wait
ok=0; for i in $(seq 1 10); do [ "$(cat "$T/rc.$i")" = 0 ] && ok=$((ok + 1)); done; rm -f "$T"/rc.*
[ "$ok" = 1 ] || fail "racing loads: $ok succeeded"
# (.environments holds the environment they captured, one file: it is no temporary entry.)
[ -z "$(ls -A "$SPMI_PATH" | grep '^\.' | grep -vx -e '.store.lock' -e '.environments')" ] || fail "racing loads left temporary entries: $(ls -A "$SPMI_PATH")"
[ "$(ls -A "$SPMI_PATH/.environments" | wc -l)" = 1 ] || fail "racing loads left environment files: $(ls -A "$SPMI_PATH/.environments")"
run 0 status dup
pass "racing loads"

# Racing clean and start: one wins cleanly, the state agrees with what the winner did.
for round in $(seq 1 10); do
  task_toml cs.toml cs "sleep 1102.$TAG"
  run 0 load cs.toml
  ( rc=0; "$SPMI" -d start cs >/dev/null 2>"$T/start.err" || rc=$?; echo $rc > "$T/rc.start" ) &
  ( rc=0; "$SPMI" -d clean cs >/dev/null 2>"$T/clean.err" || rc=$?; echo $rc > "$T/rc.clean" ) &
  wait
  s=$(cat "$T/rc.start"); c=$(cat "$T/rc.clean")
  if [ "$c" = 0 ]; then
    [ "$s" != 0 ] || fail "round $round: both start and clean succeeded"
    [ ! -e "$SPMI_PATH/cs" ] || fail "round $round: clean won but the directory is there"
    [ "$(pgrep -xfc "sleep 1102.$TAG")" = 0 ] ||
      fail "round $round: clean won but the task runs: $(ps -o pid,ppid,stat,lstart,args -C sleep,spmi); start: $(cat "$T/start.err"); clean: $(cat "$T/clean.err")"
  else
    [ "$s" = 0 ] || fail "round $round: neither start ($s) nor clean ($c) succeeded; start: $(cat "$T/start.err"); clean: $(cat "$T/clean.err")"
    is_active cs || fail "round $round: start won but cs is not active"
    run 0 kill cs
    run 0 clean cs
  fi
done
pass "clean against start"

# A storm: 4 clients, each 40 random commands over 6 manageables.
for i in $(seq 1 6); do task_toml "s$i.toml" "storm$i" "echo storm $i; sleep 1103.$TAG"; done
run 0 load s1.toml s2.toml s3.toml s4.toml s5.toml s6.toml
client() {
  local j
  RANDOM=$1
  for j in $(seq 1 40); do
    local id="storm$((RANDOM % 6 + 1))"
    case $((RANDOM % 6)) in
      0|1) "$SPMI" start "$id" ;;
      2) "$SPMI" stop "$id" ;;
      3) "$SPMI" kill "$id" ;;
      4) "$SPMI" status "$id" ;;
      5) "$SPMI" list ;;
    esac >/dev/null 2>&1 || true
  done
}
for c in 1 2 3 4; do client $((c * 7919)) & done
wait
"$SPMI" kill '.*' >/dev/null 2>&1 || true
run 0 status 'storm.*'
err_has "Showed 6 manageables"
run 0 list
[ "$(grep -c '^storm[1-6] *inactive' "$T/out")" = 6 ] || fail "storm: not all inactive and whole"
for i in $(seq 1 6); do
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$SPMI_PATH/storm$i/run.json" 2>/dev/null ||
    [ ! -e "$SPMI_PATH/storm$i/run.json" ] || fail "storm$i: run.json is not valid JSON"
done
sleep 0.2
[ "$(pgrep -xfc "sleep 1103\.$TAG")" = 0 ] || fail "storm: $(pgrep -xfc "sleep 1103\.$TAG") task processes left"
pass "storm"
echo "races: all passed"
