#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end check of the single-node SLURM test cluster (run after scripts/slurm-up.sh):
# sbatch/squeue/scancel, exit codes via scontrol, signal delivery with scancel --full, srun and
# sbatch --wait. Prints "slurm smoke: 4 passed, 0 failed" on success; exits 77 (SKIP) when
# SLURM is not installed or the cluster is not up.
set -euo pipefail

command -v sbatch >/dev/null || { echo "SKIP: sbatch not installed"; exit 77; }
# scontrol ping fails at once when slurmctld is down; sinfo would retry for ~9 s first
if ! scontrol ping >/dev/null 2>&1 || ! sinfo -h >/dev/null 2>&1; then
  echo "SKIP: SLURM cluster not up (scontrol ping / sinfo fail)"
  exit 77
fi

D=$(mktemp -d /tmp/slurm-smoke.XXXXXX)
cd "$D"
JOBS=""
passed=0
cleanup() {
  # shellcheck disable=SC2086  # one word per job id
  if [ -n "$JOBS" ]; then scancel $JOBS 2>/dev/null || true; fi
  cd /
  rm -rf "$D"
}
trap cleanup EXIT
fail() { echo "SMOKE FAIL: $*" >&2; echo "slurm smoke: $passed passed, 1 failed"; exit 1; }
submit() { J=$(sbatch --parsable "$@") || fail "sbatch $*"; J=${J%%;*}; JOBS="$JOBS $J"; }   # sets J
waitfor() { local n=$1 i; shift; for ((i = 0; i < n * 10; i++)); do "$@" && return 0; sleep 0.1; done; return 1; }
state() { squeue -h -t all -j "$1" -o %T 2>/dev/null || true; }
is_state() { [ "$(state "$1")" = "$2" ]; }
gone() { [ -z "$(squeue -h -j "$1" 2>/dev/null || true)" ]; }
exitcode() { scontrol show job -o "$1" 2>/dev/null | grep -oE ' ExitCode=[0-9]+:[0-9]+' | cut -d= -f2 || true; }

node=$(sinfo -h -o %T | head -n1)
[[ $node =~ ^(idle|mixed)$ ]] || fail "node not idle: $(sinfo -h)"

# 1. long job: RUNNING, output written, scancel ends it
submit -o "$D/%j.out" --wrap 'echo hi; sleep 30'
waitfor 10 is_state "$J" RUNNING || fail "job $J not RUNNING: $(state "$J")"
waitfor 10 grep -qs hi "$D/$J.out" || fail "no output in $D/$J.out"
scancel "$J"
waitfor 10 gone "$J" || fail "job $J still queued after scancel"
[ "$(state "$J")" = CANCELLED ] || fail "job $J state $(state "$J")"
passed=$((passed + 1))

# 2. job that exits by itself with code 3: leaves squeue, exit code readable
submit -o /dev/null --wrap 'exit 3'
waitfor 15 gone "$J" || fail "job $J did not leave squeue"
{ [ "$(state "$J")" = FAILED ] && [ "$(exitcode "$J")" = 3:0 ]; } || fail "job $J: $(state "$J") $(exitcode "$J")"
passed=$((passed + 1))

# 3. signal delivery to the batch script (needs --full or --batch)
cat >trap.sh <<'T'
#!/bin/bash
trap 'echo got-INT > "$SLURM_SUBMIT_DIR/sig.$SLURM_JOB_ID"; exit 130' INT
echo started > "$SLURM_SUBMIT_DIR/started.$SLURM_JOB_ID"
while :; do sleep 0.1; done
T
submit -o /dev/null trap.sh
waitfor 10 is_state "$J" RUNNING || fail "job $J not RUNNING"
# RUNNING in squeue can precede the script's start by up to ~1 s: wait for the script's own marker
waitfor 10 test -s "started.$J" || fail "job $J: script did not start"
scancel --full --signal=INT "$J"
waitfor 10 gone "$J" || fail "job $J ignored SIGINT"
{ [ "$(cat "sig.$J" 2>/dev/null)" = got-INT ] && [ "$(exitcode "$J")" = 130:0 ]; } ||
  fail "job $J: no INT seen ($(exitcode "$J"))"
passed=$((passed + 1))

# 4. srun and sbatch --wait propagate exit codes
[ "$(srun -N1 hostname)" = "$(hostname)" ] || fail "srun hostname"
set +e
srun -N1 bash -c 'exit 7' 2>/dev/null; r1=$?
sbatch --wait -o /dev/null --wrap 'exit 5' >/dev/null; r2=$?
set -e
{ [ "$r1" = 7 ] && [ "$r2" = 5 ]; } || fail "srun rc=$r1 (want 7), sbatch --wait rc=$r2 (want 5)"
passed=$((passed + 1))

echo "slurm smoke: $passed passed, 0 failed"
