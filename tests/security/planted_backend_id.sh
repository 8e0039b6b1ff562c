#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack: a launch.json of backend type slurm whose backend ID is not a job number (`--user=root`,
# `-uroot`, `1 --signal=KILL`; nor an array element `<job>_<index>`: `5_1 --signal=KILL`, `5__1`): root's `spmi kill`/`stop` would hand it to scancel, cancelling every job
# of root's. It must never reach scancel (nor squeue): refused with a message, nothing cancelled.
# First with stand-in scancel/squeue programs that record their arguments (always runs), then against
# the real cluster of scripts/slurm-up.sh, where a victim job of root's must stay untouched (skipped
# when no cluster is up, failed then if SPMI_REQUIRE_SLURM is set).
source "$(dirname "$0")/common.sh"
need python3

locker=
victim_job=
finish() {
  [ -n "$locker" ] && kill "$locker" 2>/dev/null
  [ -n "$victim_job" ] && scancel "$victim_job" 2>/dev/null
  security_cleanup
}
trap finish EXIT

# Stand-ins for the SLURM client: they log their argv, one argument a line, and answer as SLURM would.
mkdir -p "$T/bin"
for program in scancel squeue sbatch scontrol; do
  cat >"$T/bin/$program" <<EOF
#!/bin/sh
{ echo "== $program"; for a in "\$@"; do printf '%s\n' "\$a"; done; } >>"$T/slurm.log"
[ "$program" = squeue ] && cat "$T/queue" 2>/dev/null
exit 0
EOF
  chmod +x "$T/bin/$program"
done
: >"$T/slurm.log"

task_toml job.toml job "sleep 1401.$TAG" slurm
run 0 load job.toml

# What makes the manageable look active: whoever holds an OFD lock on alive.
: >"$SPMI_PATH/job/alive"
hold_ofd_lock "$SPMI_PATH/job/alive"

plant() { # BACKEND_ID QUEUED: launch.json and a matching run.json (wrapper: the lock holder)
  python3 - "$SPMI_PATH/job" "$1" "$2" "${locker:-0}" <<'EOF'
import json, sys, time
d, backend_id, queued, pid = sys.argv[1:]
boot = open("/proc/sys/kernel/random/boot_id").read().strip()
json.dump({"token": "1-1", "backend_type": "slurm", "backend_id": backend_id, "queued": queued == "1",
           "launched_at": time.time(), "cwd": "/", "wanted": "up", "ended_by": ""}, open(d + "/launch.json", "w"))
json.dump({"token": "1-1", "wrapper_pid": int(pid), "pid": int(pid), "started_at": time.time(),
           "finished_at": None, "exit_code": None, "exit_signal": None, "error": "", "restarts": 0,
           "next_attempt": None, "failed": False, "watchdog_pid": 0, "membership": "fallback",
           "membership_note": "", "cgroup": "", "boot_id": boot, "recoveries": 0, "restart_times": []},
          open(d + "/run.json", "w"))
EOF
}

scancel_got() { # what reached scancel, or nothing
  awk '/^== /{p = ($2 == "scancel")} p && !/^== /' "$T/slurm.log"
}

for id in "--user=root" "-uroot" "1 --signal=KILL" "12;34" "" "5_1 --signal=KILL" "5__1" "5_1_2" "_5" "5_"; do
  for command in kill stop; do
    : >"$T/slurm.log"
    plant "$id" 0
    PATH="$T/bin:$PATH" run 1 "$command" job
    [ -z "$(scancel_got)" ] || fail "spmi $command passed backend ID '$id' to scancel: $(scancel_got | tr '\n' ' ')"
    err_has "is not a SLURM job number"
    err_has "nothing was signalled"
  done
  pass "kill/stop: backend ID '$id' of a running launch never reaches scancel"
done

# A queued launch: its ID is never taken for one in squeue's answer, so never cancelled.
kill "$locker"
wait "$locker" 2>/dev/null || true
locker=
for id in "--user=root" "-uroot" "5_1 --signal=KILL" "5__1"; do
  : >"$T/slurm.log"
  printf '%s|PENDING\n' "$id" >"$T/queue"
  plant "$id" 1
  rm "$SPMI_PATH/job/run.json"  # its wrapper has not run yet
  PATH="$T/bin:$PATH" run 1 stop job
  [ -z "$(scancel_got)" ] || fail "spmi stop passed queued backend ID '$id' to scancel: $(scancel_got | tr '\n' ' ')"
  ! grep -qxF -- "$id" "$T/slurm.log" || fail "backend ID '$id' reached a SLURM program: $(cat "$T/slurm.log")"
  ! grep -qF -- "$id" "$T/slurm.log" || fail "backend ID '$id' reached a SLURM program's arguments: $(cat "$T/slurm.log")"
  PATH="$T/bin:$PATH" run 0 list
  out_lacks "pending"
done
pass "stop/list: a queued launch's backend ID '--user=root' is not taken from squeue, never cancelled"

# The real thing: root's victim job survives a kill of a launch planted with `--user=root`.
if ! command -v sbatch >/dev/null || ! timeout 5 scontrol ping >/dev/null 2>&1; then
  [ -n "${SPMI_REQUIRE_SLURM:-}" ] && fail "no SLURM cluster is up, and SPMI_REQUIRE_SLURM is set"
  echo "SKIP (real SLURM part): no SLURM cluster is up (run scripts/slurm-up.sh)"
  exit 0
fi
victim_job=$(sbatch --parsable --job-name="victim-$TAG" --output=/dev/null --wrap "sleep 600") ||
  fail "cannot submit the victim job"
victim_job=${victim_job%%;*}
wait_for 20 sh -c "squeue -h -j $victim_job -t R | grep -q ." || fail "the victim job $victim_job does not run"
hold_ofd_lock "$SPMI_PATH/job/alive"
for id in "--user=root" "-uroot"; do
  plant "$id" 0
  run 1 kill job
  err_has "is not a SLURM job number"
  sleep 1
  [ -n "$(squeue -h -j "$victim_job" -t PD,R 2>/dev/null)" ] || fail "root's victim job $victim_job was cancelled by backend ID '$id'"
done
pass "kill: root's victim job $victim_job is untouched by planted backend IDs"
