#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tears down the single-node SLURM test cluster started by scripts/slurm-up.sh: cancels every job
# (all users), then stops slurmd, slurmctld and munged by the PIDs in their pid files (never by
# name) and waits, bounded, until they are gone. Never fails because nothing is running.
#   --purge   also remove the controller and slurmd state (/var/spool/slurmctld, /var/spool/slurmd)
#             so that the next bring-up is a cold start (job ids restart at 1).
set -euo pipefail

purge=0
for a in "$@"; do
  case "$a" in
    --purge) purge=1 ;;
    -h | --help) sed -n '3,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "slurm-down: unknown argument '$a' (usage: slurm-down.sh [--purge])" >&2; exit 2 ;;
  esac
done
[ "$EUID" = 0 ] || { echo "slurm-down: must run as root" >&2; exit 1; }

MUNGE_PID=/run/munge/munged.pid
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
RUNNING_CONF=/run/spmi-slurm-up.conf
say() { echo "slurm-down: $*"; }

# alive PID NAME: PID exists, is not a zombie (PID 1 here reaps late) and its comm is NAME
alive() {
  local pid=$1 name=$2 stat comm
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  { read -r stat <"/proc/$pid/stat" && read -r comm <"/proc/$pid/comm"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ] && [ "$comm" = "$name" ]
}
pid_of() {  # pid_of PIDFILE: sets P to the pid in PIDFILE ("" if none)
  P=""
  [ -r "$1" ] && { read -r P <"$1" || true; }
  [[ $P =~ ^[0-9]+$ ]] || P=""
}

# 1. cancel every job while the controller is still there, and wait (bounded) for them to go:
# jobs get SIGTERM, then SIGKILL after KillWait=5 s.
if command -v squeue >/dev/null && pid_of "$CTLD_PID" && alive "$P" slurmctld; then
  jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ' || true)
  jobs=${jobs% }
  if [ -n "${jobs// /}" ]; then
    say "cancelling jobs: $jobs"
    # shellcheck disable=SC2086  # one word per job id
    scancel $jobs 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      [ -z "$(squeue -h -o %i 2>/dev/null || true)" ] && break
      sleep 0.1
    done
    left=$(squeue -h -o '%i:%T' 2>/dev/null | tr '\n' ' ' || true)
    [ -z "${left// /}" ] || say "WARNING: jobs still in the queue after 10 s: $left"
  fi
fi

# 2. stop the daemons: SIGTERM, up to 10 s, then SIGKILL and up to 5 s more
stop() {
  local pidfile=$1 name=$2 pid i
  pid_of "$pidfile"
  pid=$P
  if alive "$pid" "$name"; then
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      alive "$pid" "$name" || break
      if [ $i = 100 ]; then
        say "$name (pid $pid) ignored SIGTERM for 10 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      sleep 0.1
    done
    if alive "$pid" "$name"; then
      say "WARNING: $name (pid $pid) is still running"
      return 0
    fi
  fi
  rm -f "$pidfile"
}
stop "$SLURMD_PID" slurmd
stop "$CTLD_PID" slurmctld
stop "$MUNGE_PID" munged
rm -f "$RUNNING_CONF"

if [ $purge = 1 ]; then
  rm -rf /var/spool/slurmctld /var/spool/slurmd
  say "purged /var/spool/slurmctld and /var/spool/slurmd"
fi
say "done"
