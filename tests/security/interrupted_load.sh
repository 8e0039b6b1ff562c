#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interrupted commands keep all or nothing. SIGINT, SIGTERM or SIGHUP at any moment of a `load` of 500
# descriptors leaves all 500 registered or none (an interrupt before the first directory is in place undoes
# the load and spmi dies by that signal; one later lets it finish), and never a staging directory. A load
# killed with SIGKILL leaves its staging directories, and the next command that takes the store's lock
# (load or clean) removes them.
source "$(dirname "$0")/common.sh"

n=500
mkdir -p "$T/many"
for i in $(seq 1 $n); do
  printf '[task]\nid = "t%03d"\n[task.backend]\ntype = "local"\n[task.wrapper]\ntype = "default"\ncommand = "true"\n' "$i" \
    >"$T/many/t$i.toml"
done

count() { "$SPMI" list 2>/dev/null | grep -c '^t[0-9]' || true; }
leftovers() { find "$SPMI_PATH" -maxdepth 1 -name '.load-*' -o -maxdepth 1 -name '.clean-*' | wc -l; }
reset_store() { rm -rf "$SPMI_PATH"; }
# catches PID SIGNAL: PID has a handler for SIGNAL (its bit in SigCgt of /proc/PID/status).
catches() {
  local mask; mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null)
  [ -n "$mask" ] && (( (16#$mask >> ($(kill -l "$2") - 1)) & 1 ))
}

# How long a whole load takes here, to spread the interrupts over it.
reset_store
start=$(date +%s%N)
run 0 load "$T"/many/*.toml
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$(count)" = $n ] || fail "a plain load registered $(count) of $n"
echo "a load of $n takes ${took_ms} ms here"

# Each signal at three moments: while the directories are being prepared (over 100 staged), the moment
# the first one is put in place (the load must then finish: all), and at a time spread over a whole load.
cat >"$T/signal_at_commit.py" <<'PY'
# signal_at_commit.py SIGNAL PATH COMMAND...: runs COMMAND (output to $T/out, $T/err), sends it SIGNAL the
# moment PATH exists, prints its exit status as a shell would (128 + signal when a signal ended it).
import os, signal, subprocess, sys
sig, path, command = getattr(signal, "SIG" + sys.argv[1]), sys.argv[2], sys.argv[3:]
tmp = os.environ["T"]
with open(tmp + "/out", "w") as out, open(tmp + "/err", "w") as err:
    p = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    while p.poll() is None and not os.path.exists(path):
        pass
    p.send_signal(sig)
    rc = p.wait()
print(128 - rc if rc < 0 else rc)
PY
export T
trials=0 none=0 all=0
for signal in INT TERM HUP; do
  for moment in staging commit 50 95 100; do
    reset_store
    rc=0
    if [ "$moment" = commit ]; then
      # The moment the first directory appears (a shell loop is too slow to catch the renames).
      rc=$(python3 "$T/signal_at_commit.py" "$signal" "$SPMI_PATH/t001" "$SPMI" load "$T"/many/*.toml)
    else
      "$SPMI" load "$T"/many/*.toml >"$T/out" 2>"$T/err" </dev/null &
      pid=$!
      if [ "$moment" = staging ]; then
        wait_for 30 bash -c "[ \$(find '$SPMI_PATH' -maxdepth 1 -name '.load-*' 2>/dev/null | wc -l) -gt 100 ]" || true
      else
        # Timed from the moment `load` catches the signal: one that comes before (in the start-up of a
        # program on a busy host) ends it as any program, with nothing done and nothing to say.
        for _ in $(seq 1 3000); do ! kill -0 "$pid" 2>/dev/null || catches "$pid" "$signal" && break; sleep 0.01; done
        sleep "$(awk -v ms="$took_ms" -v p="$moment" 'BEGIN { printf "%.3f", ms * p / 100000 }')"
      fi
      kill -s "$signal" "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || rc=$?
    fi
    got=$(count)
    trials=$((trials + 1))
    case $got in
      0) none=$((none + 1))
         # Undone: says so, and ends by the signal (128 + its number).
         [ "$rc" = $((128 + $(kill -l "$signal"))) ] || fail "SIG$signal at $moment: nothing loaded, exit status $rc, expected death by SIG$signal"
         grep -q "nothing was loaded" "$T/err" || fail "SIG$signal at $moment: no 'nothing was loaded' on stderr" ;;
      $n) all=$((all + 1))
          [ "$rc" = 0 ] || fail "SIG$signal at $moment: all loaded, but exit status $rc" ;;
      *) fail "SIG$signal at $moment of a load: $got of $n registered (must be all or none)" ;;
    esac
    [ "$moment" != staging ] || [ "$got" = 0 ] || echo "NOTE: SIG$signal during staging: the load had finished already"
    [ "$(leftovers)" = 0 ] || fail "SIG$signal at $moment: $(leftovers) staging directories left behind"
  done
done
pass "$trials interrupted loads: $none registered nothing, $all registered all $n, none half"

# Starts a load of all the descriptors and SIGKILLs it once it has staged over 50 directories.
kill_load_while_staging() {
  "$SPMI" load "$T"/many/*.toml >/dev/null 2>&1 </dev/null &
  local pid=$!
  wait_for 30 bash -c "[ \$(find '$SPMI_PATH' -maxdepth 1 -name '.load-*' 2>/dev/null | wc -l) -gt 50 ]" \
    || fail "no staging directories appeared"
  kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
}

# SIGKILL during staging: its staging directories stay until the next load or clean takes the store's lock.
reset_store
kill_load_while_staging
[ "$(count)" = 0 ] || [ "$(count)" = $n ] || echo "NOTE: SIGKILL landed among the renames: $(count) registered (SIGKILL cannot be deferred)"
left=$(leftovers)
[ "$left" -gt 0 ] || fail "the killed load left no staging directories to test with"
task_toml "$T/one.toml" later true local
run 0 load "$T/one.toml"
[ "$(leftovers)" = 0 ] || fail "the next load left $(leftovers) of the $left staging directories of the killed one"
pass "a load after a SIGKILLed one removed its $left staging directories"

# The same for clean.
reset_store
kill_load_while_staging
run 0 load "$T/one.toml"
mkdir "$SPMI_PATH/.load-x-1-2-3" "$SPMI_PATH/.clean-y-1-2"
run 0 clean later
[ "$(leftovers)" = 0 ] || fail "clean left $(leftovers) leftover directories"
pass "clean removes leftovers of killed loads and cleans"
