#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Brings up a single-node SLURM test cluster on localhost (run as root; no systemd needed):
# installs Debian's slurmctld, slurmd, slurm-client and munge if missing, writes
# /etc/slurm/slurm.conf, starts munged, slurmctld and slurmd by hand, waits until the node is
# usable and runs one probe job (the first batch job after slurmctld starts is placed ~3 s late).
# Idempotent: when everything is up with the same config it only checks and exits. A changed
# config restarts slurmctld and slurmd. Pair it with scripts/slurm-down.sh (e.g. in an EXIT trap):
# on failure this script leaves running whatever it already started.
#
# Environment:
#   SLURM_CPUS=N            advertise N CPUs on the node (SlurmdParameters=config_overrides)
#   SLURM_PROCTRACK=cgroup  proctrack/cgroup (cgroup v1) instead of proctrack/linuxproc
#   SLURM_UP_TIMEOUT=S      bound in seconds for the daemons to come up, and for the probe job (30)
#
# Process creation is slow on some sandboxes (~15-30 ms per command), so the checks done when
# everything is already up avoid external commands where bash can do the job itself.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
CGROUP_CONF=/etc/slurm/cgroup.conf
RUNNING_CONF=/run/spmi-slurm-up.conf   # the config the running slurmctld/slurmd were started with
MUNGE_PID=/run/munge/munged.pid
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_LOG=/var/log/munge/munged.log
CTLD_LOG=/var/log/slurm/slurmctld.log
SLURMD_LOG=/var/log/slurm/slurmd.log
TIMEOUT=${SLURM_UP_TIMEOUT:-30}
PACKAGES=(slurmctld slurmd slurm-client munge)

t0=${EPOCHREALTIME//[.,]/}
say() { echo "slurm-up: $*"; }
elapsed() {  # sets E to the time since the start, e.g. "3.2 s"
  local us=$((${EPOCHREALTIME//[.,]/} - t0))
  E="$((us / 1000000)).$((us / 100000 % 10)) s"
}
die() {  # die MESSAGE [LOGFILE...]: print the message and the tail of each log, exit 1
  local msg=$1 f
  shift
  echo "slurm-up: ERROR: $msg" >&2
  for f in "$@"; do
    [ -s "$f" ] || continue
    echo "--- last lines of $f:" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}
slurp() {  # slurp FILE: sets S to the file's content without trailing newlines ("" if unreadable)
  S=""
  [ -r "$1" ] && { IFS= read -r -d '' S <"$1" || true; }
  while [[ $S == *$'\n' ]]; do S=${S%$'\n'}; done
}

[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "SLURM_UP_TIMEOUT must be a positive integer (got '$TIMEOUT')"
[ "$EUID" = 0 ] || die "must run as root"

# ---- process helpers: by pid file only, never by name ------------------------------------------
# alive PID NAME: PID exists, is not a zombie (PID 1 here reaps late) and its comm is NAME
# (guards against a stale pid file whose pid was reused by an unrelated process).
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
running() { pid_of "$1" && alive "$P" "$2"; }   # running PIDFILE NAME

# stop PIDFILE NAME: SIGTERM, wait up to 10 s, then SIGKILL and wait up to 5 s more
stop() {
  local pidfile=$1 name=$2 pid i
  pid_of "$pidfile"
  pid=$P
  if alive "$pid" "$name"; then
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      alive "$pid" "$name" || break
      if [ $i = 100 ]; then kill -KILL "$pid" 2>/dev/null || true; fi
      sleep 0.1
    done
    if alive "$pid" "$name"; then die "$name (pid $pid) does not stop"; fi
  fi
  rm -f "$pidfile"
}

deadline=0
start_clock() { deadline=$((EPOCHSECONDS + TIMEOUT)); }
expired() { [ "$EPOCHSECONDS" -ge "$deadline" ]; }

# ---- 1. packages --------------------------------------------------------------------------------
status=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
  [[ $'\n'$status$'\n' == *$'\n'"$p install ok installed"$'\n'* ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq >/tmp/slurm-up-apt.log 2>&1 || die "apt-get update failed" /tmp/slurm-up-apt.log
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" \
    >>/tmp/slurm-up-apt.log 2>&1 || die "apt-get install failed" /tmp/slurm-up-apt.log
  elapsed
  say "packages installed ($E)"
fi

# ---- 2. config ----------------------------------------------------------------------------------
host=${HOSTNAME%%.*}   # what `hostname -s` prints, without running it
[ -n "$host" ] || die "the host name is empty"
hw=$(slurmd -C 2>/dev/null) || true
hw=${hw%%$'\n'*}
[[ $hw == NodeName=* ]] || die "slurmd -C gave no NodeName line: '$hw'"
field() { [[ " $hw " =~ \ ($1=[^ ]+)\  ]] || die "slurmd -C has no $1: '$hw'"; F=${BASH_REMATCH[1]}; }
extra_params=""
if [ -n "${SLURM_CPUS:-}" ]; then
  [[ $SLURM_CPUS =~ ^[1-9][0-9]*$ ]] || die "SLURM_CPUS must be a positive integer (got '$SLURM_CPUS')"
  nodehw="CPUs=$SLURM_CPUS"
  extra_params=$'\nSlurmdParameters=config_overrides'
else
  nodehw=""
  for f in CPUs Boards SocketsPerBoard CoresPerSocket ThreadsPerCore; do field $f; nodehw+="$F "; done
  nodehw=${nodehw% }
fi
field RealMemory
nodehw+=" $F"
case "${SLURM_PROCTRACK:-linuxproc}" in
  linuxproc) proctrack=proctrack/linuxproc ;;
  cgroup) proctrack=proctrack/cgroup ;;
  *) die "SLURM_PROCTRACK must be linuxproc or cgroup (got '$SLURM_PROCTRACK')" ;;
esac

conf="# generated by scripts/slurm-up.sh - single-node test cluster on localhost
ClusterName=spmi
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
ProctrackType=$proctrack
TaskPlugin=task/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
SchedulerType=sched/backfill
# batch jobs are never placed at submit time; the controller's 1 s background
# tick places them, and by default waits batch_sched_delay=3 s after the last
# scheduling pass. 0 -> sbatch-to-RUNNING <= ~1 s instead of up to ~3-4 s.
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
KillWait=5$extra_params

NodeName=$host NodeHostname=$host NodeAddr=127.0.0.1 $nodehw State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"

cgconf=""
if [ "$proctrack" = proctrack/cgroup ]; then
  cgconf="# generated by scripts/slurm-up.sh
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no"
fi
want=$conf   # what the daemons must have been started with
[ -z "$cgconf" ] || want+=$'\n'"$cgconf"

# Daemons started with another config (or by someone else, with no record) are restarted.
if running "$SLURMD_PID" slurmd || running "$CTLD_PID" slurmctld; then
  slurp "$RUNNING_CONF"
  if [ "$S" != "$want" ]; then
    say "config changed, restarting slurmctld and slurmd"
    stop "$SLURMD_PID" slurmd
    stop "$CTLD_PID" slurmctld
  fi
fi
for d in /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm; do
  [ -d "$d" ] || mkdir -p "$d"
done
slurp "$CONF"
if [ "$S" != "$conf" ]; then
  printf '%s\n' "$conf" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
  say "wrote $CONF"
fi
slurp "$CGROUP_CONF"
if [ -n "$cgconf" ]; then
  [ "$S" = "$cgconf" ] || printf '%s\n' "$cgconf" >"$CGROUP_CONF"
elif [[ $S == "# generated by scripts/slurm-up.sh"* ]]; then
  rm -f "$CGROUP_CONF"
fi

start_clock

# ---- 3. munge -----------------------------------------------------------------------------------
if running "$MUNGE_PID" munged; then
  say "munged already running"
else
  mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    say "created /etc/munge/munge.key"
  fi
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  rm -f "$MUNGE_PID"   # stale; --force gets past a stale socket
  runuser -u munge -- /usr/sbin/munged --force || die "munged failed to start" "$MUNGE_LOG"
  say "started munged"
fi
until munge -n 2>/dev/null | unmunge >/dev/null 2>&1; do
  expired && die "munge does not work after ${TIMEOUT}s" "$MUNGE_LOG"
  if [ -s "$MUNGE_PID" ] && ! running "$MUNGE_PID" munged; then die "munged exited during startup" "$MUNGE_LOG"; fi
  sleep 0.1
done

# ---- 4. slurmctld and slurmd --------------------------------------------------------------------
# start_daemon PIDFILE NAME LOG PORT: run NAME (it daemonizes and writes PIDFILE) and wait for PIDFILE
started=0
start_daemon() {  # start_daemon PIDFILE NAME LOG PORT
  local pidfile=$1 name=$2 log=$3 port=$4
  if running "$pidfile" "$name"; then
    say "$name already running"
    return
  fi
  rm -f "$pidfile"
  need_port "$port" "$name"
  "$name" >>"$log" 2>&1 || die "$name failed to start" "$log"
  until [ -s "$pidfile" ]; do
    expired && die "$name wrote no pid file within ${TIMEOUT}s" "$log"
    sleep 0.05
  done
  started=1
  pid_of "$pidfile"
  say "started $name (pid $P)"
}
# port_listening PORT: something listens on TCP PORT (reads /proc/net/tcp{,6}, no commands run)
port_listening() {
  local hex f loc st rest
  printf -v hex '%04X' "$1"
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    while read -r _ loc _ st rest; do
      [[ $loc == *:"$hex" && $st == 0A ]] && return 0
    done <"$f"
  done
  return 1
}
# need_port PORT NAME: before starting NAME, wait up to 3 s for PORT to be free (a just-stopped
# daemon may still hold it), else fail saying who holds it, rather than via a slurmctld fatal()
need_port() {
  local i
  for ((i = 0; i < 30; i++)); do
    port_listening "$1" || return 0
    sleep 0.1
  done
  die "TCP port $1, needed by $2, is in use by another process: $(ss -ltnp "sport = :$1" 2>&1 | tail -n +2)"
}
# check_alive PIDFILE NAME LOG: fail with the log tail if the daemon died (zombies count as dead)
check_alive() { running "$1" "$2" || die "$2 exited during startup" "$3"; }

start_daemon "$CTLD_PID" slurmctld "$CTLD_LOG" 6817
if [ $started = 1 ]; then
  # exit code 0 and "Slurmctld(primary) at HOST is UP" once it answers
  # (bounded: a foreign listener on the port would make scontrol wait for its 10 s MessageTimeout)
  until timeout 3 scontrol ping >/dev/null 2>&1; do
    check_alive "$CTLD_PID" slurmctld "$CTLD_LOG"
    expired && die "slurmctld not answering after ${TIMEOUT}s" "$CTLD_LOG"
    sleep 0.1
  done
fi
start_daemon "$SLURMD_PID" slurmd "$SLURMD_LOG" 6818
printf '%s\n' "$want" >"$RUNNING_CONF"

# The node is usable when it responds and is neither down nor drained. A fresh node is idle;
# when already up it may be mixed/allocated by someone's jobs, which is fine too.
node_state() { N=$(sinfo -h -N -n "$host" -o %T 2>/dev/null) || N="(sinfo failed)"; N=${N%%$'\n'*}; }
while node_state; [[ ! $N =~ ^(idle|mixed|allocated|completing)$ ]]; do
  check_alive "$CTLD_PID" slurmctld "$CTLD_LOG"
  check_alive "$SLURMD_PID" slurmd "$SLURMD_LOG"
  expired && die "node $host is '$N' after ${TIMEOUT}s, not idle" "$CTLD_LOG" "$SLURMD_LOG"
  sleep 0.1
done

# ---- 5. probe job (absorbs the first-scheduling delay after a start) ----------------------------
if [ $started = 1 ]; then
  start_clock
  job=$(sbatch --parsable -J spmi-probe -o /dev/null -e /dev/null --wrap true 2>&1) ||
    die "probe sbatch failed: $job" "$CTLD_LOG"
  job=${job%%;*}
  while [ -n "$(squeue -h -j "$job" 2>/dev/null || true)" ]; do
    expired && die "probe job $job still queued after ${TIMEOUT}s: $(squeue -h -j "$job" 2>&1)" \
      "$CTLD_LOG" "$SLURMD_LOG"
    sleep 0.1
  done
  st=$(squeue -h -t all -j "$job" -o %T 2>/dev/null || true)
  [ "$st" = COMPLETED ] || die "probe job $job ended '$st'" "$CTLD_LOG" "$SLURMD_LOG"
  say "probe job $job completed"
  node_state
fi

elapsed
say "node $host is $N ($E)"
