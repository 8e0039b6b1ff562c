#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack: a run.json that names an unrelated process as the wrapper (`wrapper_pid`), while something
# holds the lock on `alive` so the manageable looks active: `spmi stop`/`kill` must not signal that
# process, with or without its real start time (which anyone can read in /proc), nor with a record of
# another boot; they fail saying the recorded process is not the wrapper any more and nothing was
# signalled. And a run.json whose `cgroup` names another run's cgroup: `status` must not take that
# cgroup's processes for the task's. Planted as root in root's own store (with StrictModes, another
# user can't write there: this is the second line of defence on its own).
source "$(dirname "$0")/common.sh"
need python3

victims=()
locker=
finish() {
  [ -n "$locker" ] && kill "$locker" 2>/dev/null
  local pid
  for pid in "${victims[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  [ -n "${planted_unit:-}" ] && { rmdir "$planted_unit/task" "$planted_unit" 2>/dev/null || true; }
  security_cleanup
}
trap finish EXIT

start_time() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $20}'; }
boot=$(cat /proc/sys/kernel/random/boot_id)

task_toml web.toml web "sleep 1301.$TAG" local
run 0 load web.toml
run 0 start web
run 0 status web
membership=$(sed -n 's/^Membership: //p' "$T/out")
run 0 stop web
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$SPMI_PATH/web/launch.json")

# Whatever holds an OFD lock on alive makes web look active (the attacker's own process, where it can).
hold_ofd_lock "$SPMI_PATH/web/alive"
wait_for 5 is_active web || fail "web does not look active while alive is locked"

plant() { # PID START_TIME BOOT [CGROUP]: a run.json naming PID as web's wrapper
  python3 - "$SPMI_PATH/web/run.json" "$token" "$1" "$2" "$3" "${4:-}" <<'EOF'
import json, sys, time
path, token, pid, start, boot, cgroup = sys.argv[1:]
record = {"token": token, "wrapper_pid": int(pid), "pid": int(pid), "started_at": time.time(),
          "finished_at": None, "exit_code": None, "exit_signal": None, "error": "", "restarts": 0,
          "next_attempt": None, "failed": False, "watchdog_pid": 0,
          "membership": "cgroup" if cgroup else "fallback", "membership_note": "", "cgroup": cgroup,
          "boot_id": boot, "recoveries": 0, "restart_times": []}
if start:
    record["wrapper_start_time"] = int(start)
json.dump(record, open(path, "w"))
EOF
}

# Active with no run record yet, as a wrapper is between taking its lock and writing its first record (a
# job the scheduler started a moment ago): kill waits for the record rather than refusing at once, and
# goes by it once written; when none comes, it says so after its start timeout (10 s) and exits 1.
rm -f "$SPMI_PATH/web/run.json"
run 1 kill web
err_has "manageable 'web' is active but its wrapper wrote no run record in 10 s"
sleep "1303.$TAG" &
late_victim=$!
disown "$late_victim"
victims+=("$late_victim")
(sleep 1.5; plant "$late_victim" "" "$boot") &
begun=$(date +%s%N)
run 1 kill web
waited=$(( ($(date +%s%N) - begun) / 1000000 ))
[ "$waited" -ge 1400 ] || fail "kill did not wait for the run record (${waited} ms)"
err_has "names pid $late_victim as its wrapper, but that process is not the wrapper any more"
kill -0 "$late_victim" 2>/dev/null || fail "kill signalled the unrelated process $late_victim"
pass "kill of an active manageable without a run record waits for it (${waited} ms), then goes by it"

# One victim per case, so a case that signals it is seen at once.
attack() { # COMMAND DESCRIPTION START_TIME_KIND BOOT
  local command=$1 what=$2 kind=$3 boot_of=$4
  sleep "1302.$TAG" &
  local victim=$!
  disown "$victim"
  victims+=("$victim")
  local start=
  case "$kind" in
    none) start= ;;
    real) start=$(start_time "$victim") ;;
    other) start=$(( $(start_time "$victim") + 12345 )) ;;
  esac
  plant "$victim" "$start" "$boot_of"
  run 1 "$command" web
  [ "$kind" = real ] && [ "$boot_of" = "$boot" ] && [ "$command" = kill ] && cat "$T/err"
  sleep 0.2
  kill -0 "$victim" 2>/dev/null || fail "spmi $command signalled the unrelated process $victim ($what)"
  err_has "names pid $victim as its wrapper, but that process is not the wrapper any more"
  err_has "nothing was signalled"
  pass "$command: an unrelated process named as the wrapper ($what) is not signalled"
}

attack kill "no start time recorded" none "$boot"
attack stop "no start time recorded" none "$boot"
attack kill "its real start time" real "$boot"
attack stop "its real start time" real "$boot"
attack kill "another process's start time" other "$boot"
attack kill "a record of another boot" real "00000000-0000-0000-0000-000000000000"

kill "$locker"
wait "$locker" 2>/dev/null || true
locker=
wait_for 5 is_inactive web || fail "web still active without the lock holder"

# A cgroup of another run, under spmi's own base, with a process in it: never taken for web's task.
case "$membership" in
  cgroup\ *) ;;
  *) echo "SKIP (cgroup part): web ran with $membership"; exit 0 ;;
esac
base=$(dirname "$(dirname "${membership#cgroup }")")
planted_unit="$base/other-$TAG-1"
mkdir -p "$planted_unit/task"
sleep "1303.$TAG" &
cgroup_victim=$!
disown "$cgroup_victim"
victims+=("$cgroup_victim")
echo "$cgroup_victim" >"$planted_unit/task/cgroup.procs"
plant 0 "" "$boot" "$planted_unit/task"
run 0 status web
out_lacks "$cgroup_victim"
grep -qF "cgroup $planted_unit/task is not trusted" "$T/out" || fail "status does not say the planted cgroup is not trusted"
run 0 list
kill -0 "$cgroup_victim" 2>/dev/null || fail "the process in the planted cgroup was killed"
pass "status: a planted cgroup of another run is not trusted, its process is not named"
plant 0 "" "$boot" "/sys/fs/cgroup/system.slice"
run 0 status web
grep -qF "cgroup /sys/fs/cgroup/system.slice is not trusted" "$T/out" || fail "status trusts /sys/fs/cgroup/system.slice"
pass "status: cgroup = /sys/fs/cgroup/system.slice is not trusted"
