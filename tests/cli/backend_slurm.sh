#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The guide's walk-through on a real single-node SLURM cluster (scripts/slurm-up.sh), plus a pending
# job on a full node, a job the scheduler refuses, and the backend's descriptor checks.
source "$(dirname "$0")/common.sh"
if ! command -v sbatch >/dev/null || ! timeout 5 scontrol ping >/dev/null 2>&1; then
  [ -n "${SPMI_REQUIRE_SLURM:-}" ] && fail "no SLURM cluster is up, and SPMI_REQUIRE_SLURM is set"
  echo "SKIP: no SLURM cluster is up (run scripts/slurm-up.sh)"; exit 77
fi

slurm_task() { # FILE ID COMMAND [backend lines...]
  local file=$1 id=$2 command=$3; shift 3
  task_toml "$file" "$id" "$command" slurm
  local line
  for line in "$@"; do sed -i "s|^type = \"slurm\"$|type = \"slurm\"\n$line|" "$file"; done
}
job_of() { sed -n 's/^Backend ID: //p' <("$SPMI" status "$1" 2>/dev/null); }
left() { pgrep -f "^sleep 12[0-9][0-9]\.$TAG\$" || true; }
trap '"$SPMI" kill ".*" >/dev/null 2>&1 || true; scancel --name=spmi.sl_a --name=spmi.sl_b >/dev/null 2>&1 || true; cleanup' EXIT

# walk-through: load, list, start by regex, status, connect, stop, kill, clean
slurm_task a.toml sl_a 'echo ready; while read line; do echo "got $line"; done' 'time = "10:00"'
slurm_task b.toml sl_b "trap '' INT; echo up; sleep 1201.$TAG & sleep 1202.$TAG" 'cpus_per_task = 1'
run 0 load a.toml b.toml
run 0 start 'sl_[ab]'
err_has "Started 2 manageables"
wait_for 20 is_active sl_a || fail "sl_a not active: $("$SPMI" list 2>&1)"
wait_for 20 is_active sl_b || fail "sl_b not active"
run 0 status sl_a
out_has "Backend type: slurm"
job=$(job_of sl_a)
[ "$(squeue -h -j "$job" -o %j)" = "spmi.sl_a" ] || fail "Backend ID $job is not the job spmi.sl_a"
pass "start: jobs $job and $(job_of sl_b) run"
wait_for 10 grep -qx ready "$SPMI_PATH/sl_a/stdout" || fail "sl_a printed nothing"
rc=0
printf 'one\ntwo\n' | timeout 20 "$SPMI" connect sl_a >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 0 ] || fail "connect exited $rc"
out_has "got one"
out_has "got two"
pass connect
run 0 stop sl_a
run 0 status sl_a
out_has "Exit code: 130 (killed by SIGINT)"
wait_for 10 sh -c "[ -z \"\$(squeue -h -j $job -t PD,R,CG 2>/dev/null)\" ]" || fail "job $job still in the queue after stop"
pass stop
run 0 kill sl_b
run 0 status sl_b
out_has "Exit code: 137 (killed by SIGKILL)"
[ -z "$(left)" ] || fail "processes of sl_b left after kill: $(left)"
pass "kill ends the whole tree"

# A full node (2 CPUs): the third job pends, and pending is shown and respected.
for id in sl_c sl_d sl_e; do slurm_task "$id.toml" "$id" "echo $id; sleep 1210.$TAG"; done
run 0 load sl_c.toml sl_d.toml sl_e.toml
run 0 start sl_c sl_d sl_e
wait_for 20 sh -c "\"$SPMI\" list 2>/dev/null | grep -cE '^sl_[cde] +active' | grep -qx 2" || fail "two jobs should run: $("$SPMI" list 2>&1)"
run 0 list
pending=$(sed -n 's/^\(sl_[cde]\) \+pending.*/\1/p' "$T/out")
[ -n "$pending" ] || fail "no job shown pending: $(cat "$T/out")"
run 0 status "$pending"
out_has "Active: pending since"
out_has "Note: queued as $(job_of "$pending"); waiting for the scheduler"
run 1 start "$pending"
err_has "manageable '$pending' is pending"
run 1 clean "$pending"
err_has "is pending; stop it"
run 0 stop "$pending"
run 0 status "$pending"
out_has "Active: inactive"
out_has "ended before its wrapper ran"
run 0 kill $(printf '%s\n' sl_c sl_d sl_e | grep -vx "$pending")
pass "pending job on a full node"

# The scheduler refuses the job: its message is shown; nothing is left half-started.
slurm_task f.toml sl_f 'true' 'partition = "no_such_partition"'
run 0 load f.toml
run 1 start sl_f
err_has "backend 'slurm': sbatch refused the job:"
err_has "invalid partition"
run 0 status sl_f
out_has "Active: inactive"
out_has "Backend ID: -"
[ ! -e "$SPMI_PATH/sl_f/launch.json" ] || fail "a refused job left a launch record"
rc=0
PATH=/nonexistent "$SPMI" start sl_f >"$T/out" 2>"$T/err" </dev/null || rc=$?
[ "$rc" = 1 ] || fail "start without sbatch exited $rc"
err_has "backend 'slurm': sbatch not found in PATH; install the SLURM client"
pass "sbatch refusal, sbatch missing"

# The backend's own keys are checked at load.
slurm_task g.toml sl_g 'true' 'cpus_per_task = 0'
run 3 load g.toml
err_has "g.toml: task.backend.cpus_per_task: 0 is out of range; use a whole number from 1 to 1000000"
slurm_task h.toml sl_h 'true' 'sbatch_options = "--qos=low"'
run 3 load h.toml
err_has "h.toml: task.backend.sbatch_options: expected an array of strings"
pass "descriptor checks"
echo "backend_slurm: all passed"
