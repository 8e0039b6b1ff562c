#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Several SLURM tasks started by one `spmi start` go as one job array (sbatch --array) on the real
# single-node cluster (scripts/slurm-up.sh): each element a task of its own in list/status/stop
# (scancel <job>_<index>), its own output; stopping one leaves the others; restarting one submits it
# alone; a refused array fails every task of it; a job cancelled behind spmi's back shows failed.
source "$(dirname "$0")/common.sh"
if ! command -v sbatch >/dev/null || ! timeout 5 scontrol ping >/dev/null 2>&1; then
  [ -n "${SPMI_REQUIRE_SLURM:-}" ] && fail "no SLURM cluster is up, and SPMI_REQUIRE_SLURM is set"
  echo "SKIP: no SLURM cluster is up (run scripts/slurm-up.sh)"; exit 77
fi
need python3

job=
trap '"$SPMI" kill ".*" >/dev/null 2>&1 || true; [ -n "$job" ] && scancel "$job" >/dev/null 2>&1; cleanup' EXIT

backend_id() { sed -n 's/^Backend ID: //p' <("$SPMI" status "$1" 2>/dev/null); }
state_of() { "$SPMI" list 2>/dev/null | awk -v id="$1" '$1 == id {print $2}'; }
elements() { squeue -h -r -t PD,R,CG --jobs="$job" -o %i 2>/dev/null | sort; }
# slurmctld's log names each job it was asked to cancel or signal (REQUEST_KILL_JOB JobId=<job>_<i>).
ctld_log=$(scontrol show config | awk -F' = ' '$1 ~ /^SlurmctldLogFile/ {print $2}')
log_start=$(wc -l <"$ctld_log" 2>/dev/null || echo 0)
kill_seen() { tail -n +"$((log_start + 1))" "$ctld_log" | grep -q "REQUEST_KILL_JOB JobId=$1 "; }

# A sweep: six tasks that differ in one value, identical backend settings.
for i in 0 1 2 3 4 5; do
  task_toml "sw_$i.toml" "sw_$i" "echo \"value $i on \$(hostname)\"; sleep 1230.$TAG" slurm
  sed -i 's|^type = "slurm"$|type = "slurm"\ntime = "10:00"|' "sw_$i.toml"
done
run 0 load sw_0.toml sw_1.toml sw_2.toml sw_3.toml sw_4.toml sw_5.toml
run 0 start 'sw_.*'
err_has "Started 6 manageables"
ids=$(for i in 0 1 2 3 4 5; do backend_id "sw_$i"; done)
job=$(backend_id sw_0); job=${job%_*}
[ "$(printf '%s\n' $ids)" = "$(printf "${job}_%s\n" 0 1 2 3 4 5)" ] || fail "Backend IDs are not ${job}_0..5: $ids"
[ "$(squeue -h -r -t all --jobs="$job" -o %i | sort)" = "$(printf "${job}_%s\n" 0 1 2 3 4 5 | sort)" ] ||
  fail "job $job is not an array of 6: $(squeue -h -r -t all --jobs="$job" -o '%i %T')"
[ "$(squeue -h -t all --jobs="$job" -o %j | sort -u)" = "spmi.array.sw_0" ] || fail "the array's job name"
pass "one sbatch --array: job $job with elements ${job}_0..5, one task each"

# Each element its own task: pending while queued, active once its wrapper runs (two CPUs: two at once).
wait_for 30 sh -c "[ \$(\"$SPMI\" list 2>/dev/null | grep -cE '^sw_[0-5] +active') -ge 2 ]" || fail "no element runs: $("$SPMI" list 2>&1)"
run 0 list
for i in 0 1 2 3 4 5; do
  grep -qE "^sw_$i +(active|pending) " "$T/out" || fail "sw_$i is neither active nor pending"
done
running=$(grep -oE '^sw_[0-5] +active' "$T/out" | awk '{print $1}')
queued=$(grep -oE '^sw_[0-5] +pending' "$T/out" | awk '{print $1}' | tail -1)  # the last to be placed
for id in $running; do
  i=${id#sw_}
  wait_for 10 grep -q "value $i on" "$SPMI_PATH/$id/stdout" || fail "$id printed nothing"
  [ "$(grep -c value "$SPMI_PATH/$id/stdout")" = 1 ] || fail "$id has output of other elements: $(cat "$SPMI_PATH/$id/stdout")"
  run 0 status "$id"
  out_has "Backend ID: ${job}_$i"
  out_has "Host: $(hostname)"
done
if [ -n "$queued" ]; then
  run 0 status "$queued"
  out_has "Active: pending since"
  out_has "Note: queued as ${job}_${queued#sw_}; waiting for the scheduler"
fi
pass "each element listed as its own task, its own output"

# The scheduler is asked once per command, about these jobs only (a squeue in PATH that counts its
# calls, then runs the real one).
mkdir -p "$T/count"
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s/squeue.calls"\nexec "%s" "$@"\n' "$T" "$(command -v squeue)" >"$T/count/squeue"
chmod +x "$T/count/squeue"
for command in list "status sw_.*"; do
  : >"$T/squeue.calls"
  PATH="$T/count:$PATH" run 0 $command
  [ "$(wc -l <"$T/squeue.calls")" = 1 ] || fail "spmi $command ran squeue $(wc -l <"$T/squeue.calls") times: $(cat "$T/squeue.calls")"
  grep -q -- "--jobs=" "$T/squeue.calls" || fail "spmi $command asked squeue about every job: $(cat "$T/squeue.calls")"
done
pass "list and status of all six: one squeue --jobs each"

# Stop one running element: only it is cancelled; the others still run or wait.
first=$(echo "$running" | head -1)
run 0 stop "$first"
wait_for 10 kill_seen "${job}_${first#sw_}" || fail "slurmctld never got a request for ${job}_${first#sw_}"
[ "$(state_of "$first")" = inactive ] || fail "$first is $(state_of "$first") after stop"
for i in 0 1 2 3 4 5; do
  [ "sw_$i" = "$first" ] && continue
  [[ "$(state_of "sw_$i")" =~ ^(active|pending)$ ]] || fail "sw_$i is $(state_of "sw_$i") after stopping $first"
  kill_seen "${job}_$i" && fail "stopping $first reached ${job}_$i"
done
elements | grep -qx "${job}_${first#sw_}" && fail "${job}_${first#sw_} still queued or running"
[ "$(elements | wc -l)" = 5 ] || fail "the other five elements should be left: $(elements)"
pass "stop $first: scancel ${job}_${first#sw_} alone, the others go on"

# Restart that one element: submitted alone, as a job of its own.
run 0 restart "$first"
again=$(backend_id "$first")
[[ "$again" =~ ^[0-9]+$ ]] || fail "restarting $first did not submit a plain job: '$again'"
[ "$(squeue -h -t all --jobs="$again" -o %j)" = "spmi.$first" ] || fail "job $again is not spmi.$first"
run 0 stop "$first"
pass "restart of one element: job $again of its own"

# A pending element stopped: its queued element cancelled alone.
if [ -n "$queued" ] && [ "$(state_of "$queued")" = pending ]; then
  run 0 stop "$queued"
  wait_for 10 kill_seen "${job}_${queued#sw_}" || fail "slurmctld never got a request for ${job}_${queued#sw_}"
  [ "$(state_of "$queued")" = inactive ] || fail "$queued is $(state_of "$queued") after stopping it while pending"
  pass "stop of a pending element cancels ${job}_${queued#sw_} alone"
fi

# Every element's output, as each gets its turn: stop each one that runs, until all have run.
for _ in 1 2 3 4 5 6; do
  for i in 0 1 2 3 4 5; do
    [ "$(state_of "sw_$i")" = active ] || continue
    wait_for 10 grep -q "value $i on" "$SPMI_PATH/sw_$i/stdout" || fail "sw_$i printed nothing"
    run 0 stop "sw_$i"
  done
  [ -z "$(elements)" ] && break
  wait_for 20 sh -c "\"$SPMI\" list 2>/dev/null | grep -qE '^sw_[0-5] +active' || [ -z \"\$(squeue -h -r -t PD,R,CG --jobs=$job -o %i 2>/dev/null)\" ]" || true
done
run 0 list
[ "$(grep -cE '^sw_[0-5] +inactive' "$T/out")" = 6 ] || fail "not all six inactive"
[ -z "$(elements)" ] || fail "elements of $job left in the queue: $(elements)"
for i in 0 1 2 3 4 5; do
  [ "sw_$i" = "$queued" ] && continue
  [ "$(grep -c "value" "$SPMI_PATH/sw_$i/stdout")" = 1 ] && grep -q "value $i on" "$SPMI_PATH/sw_$i/stdout" ||
    fail "sw_$i: not its own output: $(cat "$SPMI_PATH/sw_$i/stdout" 2>&1)"
done
pass "stopping the rest: all inactive, none left in the queue, each element's own output"

# Restarting them all together submits one array again.
run 0 restart 'sw_.*'
err_has "Restarted 6 manageables"
job=$(backend_id sw_0); job=${job%_*}
[ "$(for i in 0 1 2 3 4 5; do backend_id "sw_$i"; done)" = "$(printf "${job}_%s\n" 0 1 2 3 4 5)" ] ||
  fail "restart of all six is not one array ${job}_0..5"
run 0 kill 'sw_.*'
wait_for 10 sh -c "[ -z \"\$(squeue -h -r -t PD,R --jobs=$job -o %i 2>/dev/null)\" ]" || fail "elements of $job left after kill: $(elements)"
pass "restart of all six: one array again ($job), killed"

# A refused array: every task of it fails with sbatch's message; none is left half-started.
for i in 0 1 2; do
  task_toml "bad_$i.toml" "bad_$i" "echo $i" slurm
  sed -i 's|^type = "slurm"$|type = "slurm"\npartition = "no_such_partition"|' "bad_$i.toml"
done
run 0 load bad_0.toml bad_1.toml bad_2.toml
run 1 start 'bad_.*'
for i in 0 1 2; do
  grep -q "bad_$i.*sbatch refused the job" "$T/err" || grep -q "sbatch refused" "$T/err" || fail "no error for bad_$i"
  [ ! -e "$SPMI_PATH/bad_$i/launch.json" ] || fail "bad_$i has a launch record"
done
[ "$(grep -c "sbatch refused the job" "$T/err")" = 3 ] || fail "each of the three should say sbatch refused"
run 0 list
[ "$(grep -cE '^bad_[0-2] +inactive' "$T/out")" = 3 ] || fail "a refused task is not inactive"
pass "sbatch refuses the array: all three report it, none launched"

# A job cancelled behind spmi's back before its wrapper ran: failed, with the scheduler's word.
task_toml hog.toml hog "sleep 1231.$TAG" slurm
task_toml hog2.toml hog2 "sleep 1232.$TAG" slurm
task_toml late.toml late "echo never" slurm
run 0 load hog.toml hog2.toml late.toml
run 0 start hog hog2
run 0 start late
late_job=$(backend_id late)
wait_for 20 sh -c "[ \"\$(squeue -h -t all --jobs=$late_job -o %T)\" = PENDING ]" || fail "late did not pend"
scancel "$late_job"
wait_for 10 sh -c "[ \"\$(squeue -h -t all --jobs=$late_job -o %T)\" = CANCELLED ]" || fail "late's job not CANCELLED"
run 0 list
grep -qE '^late +failed' "$T/out" || fail "late should be failed"
run 0 status late
out_has "Active: failed"
out_has "Note: $late_job ended before its wrapper ran (the scheduler says CANCELLED)"
run 0 kill hog hog2
pass "a job cancelled outside spmi before its wrapper ran: failed (CANCELLED)"
echo "slurm_array: all passed"
