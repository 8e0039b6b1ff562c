#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# spmi beside its peers, s6 and supervisord (Debian packages `s6`, `supervisor`; scripts/install-deps.sh
# installs them), on the same work in the same run: N tasks of `sleep 1000`. Prints a Markdown table:
# for each line, each tool's median over the repeated runs with (min-max), in ms unless noted, then the
# ratios spmi local / peer (what we judge, as the machine is noisy). A peer not installed (or left out of
# BENCH_PEERS) shows "not run"; "-" is a line a tool has no like-for-like command for.
#   usage: bench/peers.sh [path/to/spmi]   (also `bench/run.sh --peers`; run.sh without flags runs both)
#   BENCH_REPEAT=7        repetitions of every measure (the tools take turns in each repetition)
#   BENCH_PEERS_N=50      tasks started and stopped together
#   BENCH_PEERS_LOADED=1000  tasks loaded for list, status and load
#   BENCH_PEERS="s6 supervisord"  the peers to run (for the smoke test or to leave one out)
# What each line measures, per tool (times are wall clock from before the command to its return, with
# bash's $EPOCHREALTIME, so no fork is spent on the clock):
#  - start one, command to process running: spmi `start ID`, which returns once the wrapper reports the
#    task's pid (local backend; screen); s6: `s6-svc -wu -u DIR` (returns once s6-supervise says up, i.e.
#    it spawned `run`, a `#!/bin/sh` script that execs `sleep 1000`); supervisord: `supervisorctl start
#    NAME` with startsecs=0 (returns once RUNNING); a bare fork: `sh -c 'sleep 1000 & echo $!'`. After
#    each, untimed, the `sleep` process is checked to exist (the run fails otherwise).
#  - start N until all run: spmi `start '.*'` (one call); s6: `s6-svc -u` on each of the N service dirs,
#    then `s6-svwait -u` on all N (plain s6, no s6-rc database); supervisord: `supervisorctl start all`. Then the N `sleep` processes
#    are looked for under the supervisor (ps): when the first look misses some, the end is the look
#    that finds them all.
#  - stop N until all gone: spmi `stop '.*'`; s6: `s6-svc -d` on each, then `s6-svwait -d` on all;
#    supervisord: `supervisorctl stop all`. Then, timed too, polling until each recorded `sleep` pid is gone.
#  - supervision memory per running task: with the N running, PSS (/proc/PID/smaps_rollup) of everything
#    the supervisor adds, divided by N. spmi: every process of its wrappers' trees (wrapper, watchdog,
#    any /bin/sh between wrapper and command) but the `sleep`s; a screen session's own SCREEN process is
#    reported on a line of its own. s6: the N s6-supervise processes plus s6-svscan. supervisord: its one
#    process (it runs each command without a shell).
#  - list, LOADED loaded: spmi `list`; supervisord `supervisorctl status` (s6 has no list command).
#  - status of one, LOADED loaded: spmi `status t00001`; s6 `s6-svstat DIR`; supervisord
#    `supervisorctl status t00001`.
#  - load of LOADED descriptors: spmi `load` of LOADED files into a fresh state (the peers read their
#    configuration at start-up; no like-for-like command, so "-").
# Every process started here is ended on exit (trap): spmi `kill '.*'` on each private state, s6 by
# `s6-svscanctl -t`, supervisord by `supervisorctl shutdown`, and whatever remains by its recorded pid.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
SPMI=$(realpath "${1:-build/bin/spmi}")
REPEAT=${BENCH_REPEAT:-7}
N=${BENCH_PEERS_N:-50}
LOADED=${BENCH_PEERS_LOADED:-1000}
PEERS=${BENCH_PEERS-s6 supervisord}
work=$(mktemp -d /tmp/spmi-peers.XXXXXX)
states=() scans=() svconfs=() started=()

cleanup() {
  local s p
  for s in "${states[@]}"; do SPMI_PATH="$s" "$SPMI" kill '.*' >/dev/null 2>&1 || true; done
  for s in "${scans[@]}"; do s6-svscanctl -t "$s" >/dev/null 2>&1 || true; done
  for s in "${svconfs[@]}"; do supervisorctl -c "$s" shutdown >/dev/null 2>&1 || true; done
  sleep 0.5
  for p in "${started[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

have() { command -v "$1" >/dev/null 2>&1; }
peer_on() { [[ " $PEERS " == *" $1 "* ]]; }
us_now() { local t=$EPOCHREALTIME; echo "${t/./}"; }
declare -A samples=()
add() { samples[$1]+="$2 "; }   # add KEY MICROSECONDS (or KiB for memory)
# snapshot: every process as "pid ppid comm", for the tree walks below.
snapshot() { ps -e -o pid=,ppid=,comm= >"$work/ps"; }
# below ROOTS...: "pid comm" of the roots and every descendant in the last snapshot.
below() {
  awk -v roots="$*" 'BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) want[r[i]] = 1 }
    { pid[NR] = $1; pp[NR] = $2; c[NR] = $3; if ($1 in want) out[$1] = $3 }
    END { do { more = 0; for (i = 1; i <= NR; i++) if (!(pid[i] in want) && (pp[i] in want)) { want[pid[i]] = 1; out[pid[i]] = c[i]; more = 1 } } while (more)
          for (p in out) print p, out[p] }' "$work/ps"
}
pss_kib() { local p s=0 v; for p in "$@"; do v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0); s=$((s + ${v:-0})); done; echo "$s"; }
# wait_sleeps COUNT ROOTS...: polls until COUNT `sleep`s run under ROOTS (at most 20 s); prints their
# pids. When the first look did not find them all, $work/found_at says when a later one did.
wait_sleeps() {
  local want=$1 found i; shift
  rm -f "$work/found_at"
  for i in $(seq 1 2000); do
    snapshot; found=$(below "$@" | awk '$2 == "sleep" {print $1}')
    if [ "$(printf '%s' "$found" | grep -c .)" -ge "$want" ]; then
      [ "$i" = 1 ] || us_now >"$work/found_at"
      echo $found; return 0
    fi
    sleep 0.01
  done
  echo "peers.sh: $want sleep processes expected under $*, found: $found" >&2; return 1
}
wait_gone() { local p; for p in "$@"; do while kill -0 "$p" 2>/dev/null; do sleep 0.001; done; done; }
ids() { local i; for i in $(seq 1 "$1"); do printf 't%05d\n' "$i"; done; }

# ---- spmi: private states of N and LOADED descriptors (local; screen where installed)
spmi_descriptors() { # DIR COUNT BACKEND
  mkdir -p "$1"; local id
  for id in $(ids "$2"); do
    printf '{"task":{"id":"%s","backend":{"type":"%s"},"wrapper":{"type":"default","command":"sleep 1000"}}}\n' "$id" "$3" >"$1/$id.json"
  done
}
spmi_backends=(local); have screen && spmi_backends+=(screen)
for b in "${spmi_backends[@]}"; do
  spmi_descriptors "$work/spmi-d-$b" "$N" "$b"
  states+=("$work/spmi-$b"); SPMI_PATH="$work/spmi-$b" "$SPMI" load "$work/spmi-d-$b"/*.json >/dev/null 2>&1
done
spmi_descriptors "$work/spmi-d-loaded" "$LOADED" local
states+=("$work/spmi-loaded"); SPMI_PATH="$work/spmi-loaded" "$SPMI" load "$work/spmi-d-loaded"/*.json >/dev/null 2>&1
# The wrappers (`spmi __run DIR`, or the lean supervisor it became, `spmi-supervise SPMI DIR`) and their
# watchdogs (`spmi-watchdog PID spmi-supervise --watchdog SPMI DIR`, or forked copies of the wrapper).
spmi_wrappers() { pgrep -f "(__run|spmi-supervise) (.* )?$1/" | tr '\n' ' '; }

# ---- s6: one s6-svscan on a scan directory of N service dirs (down until started), another of LOADED
s6_ok=0; if peer_on s6 && have s6-svscan; then s6_ok=1; fi
s6_scan() { # DIR COUNT: the scan directory of COUNT service dirs, each down until started
  local id; mkdir -p "$1"; (cd "$1" && mkdir $(ids "$2"))
  for id in $(ids "$2"); do : >"$1/$id/down"; printf '#!/bin/sh\nexec sleep 1000\n' >"$1/$id/run"; done
  chmod +x "$1"/t*/run
}
s6_ready() { # DIR COUNT: waits until COUNT s6-supervise have written their status (at most 60 s)
  local i; for i in $(seq 1 600); do
    [ "$(find "$1" -mindepth 3 -maxdepth 3 -path '*/supervise/status' | wc -l)" -ge "$2" ] && return 0; sleep 0.1
  done; echo "peers.sh: s6-svscan did not start $2 s6-supervise in $1" >&2; return 1
}
if [ $s6_ok = 1 ]; then
  scans+=("$work/s6" "$work/s6-loaded")
  s6_scan "$work/s6" "$N"; s6_scan "$work/s6-loaded" "$LOADED"
  # -c: room for every service (s6-svscan supervises at most 500 by default)
  s6-svscan -c $((N + 10)) "$work/s6" </dev/null >/dev/null 2>&1 & s6_pid=$!; started+=("$s6_pid")
  s6-svscan -c $((LOADED + 10)) "$work/s6-loaded" </dev/null >/dev/null 2>&1 & started+=($!)
  s6_ready "$work/s6" "$N"; s6_ready "$work/s6-loaded" "$LOADED"
fi

# ---- supervisord: one supervisord with N [program:x] sections, another with LOADED
sv_ok=0; if peer_on supervisord && have supervisord; then sv_ok=1; fi
sv_conf() { # DIR COUNT: writes DIR/supervisord.conf
  mkdir -p "$1/logs"; local id
  { printf '[unix_http_server]\nfile=%s/sock\nchmod=0700\n\n[supervisord]\nlogfile=%s/supervisord.log\npidfile=%s/pid\nchildlogdir=%s/logs\nnodaemon=true\n\n' "$1" "$1" "$1" "$1"
    printf '[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n[supervisorctl]\nserverurl=unix://%s/sock\n\n' "$1"
    for id in $(ids "$2"); do printf '[program:%s]\ncommand=sleep 1000\nautostart=false\nstartsecs=0\n\n' "$id"; done
  } >"$1/supervisord.conf"
}
sv_ready() { local i; for i in $(seq 1 600); do supervisorctl -c "$1" pid >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
if [ $sv_ok = 1 ]; then
  svconfs+=("$work/sv/supervisord.conf" "$work/sv-loaded/supervisord.conf")
  sv_conf "$work/sv" "$N"; sv_conf "$work/sv-loaded" "$LOADED"   # nodaemon: our own background jobs
  supervisord -c "$work/sv/supervisord.conf" </dev/null >/dev/null 2>&1 & sv_pid=$!; started+=("$sv_pid")
  supervisord -c "$work/sv-loaded/supervisord.conf" </dev/null >/dev/null 2>&1 & started+=($!)
  sv_ready "$work/sv/supervisord.conf"; sv_ready "$work/sv-loaded/supervisord.conf"
fi
svctl() { supervisorctl -c "$work/$1/supervisord.conf" "${@:2}"; }

# timed KEY CMD...: runs CMD (output discarded), adds its time under KEY; fails (and so does the run)
# when CMD exits with a status not in $ok (default 0: `supervisorctl status` says 3 when some are stopped).
timed() {
  local key=$1 t0 t1 rc=0; shift
  t0=$(us_now); "$@" >/dev/null 2>&1 || rc=$?; t1=$(us_now)
  [[ " ${ok:-0} " == *" $rc "* ]] || { echo "peers.sh: '$*' exited with $rc" >&2; return 1; }
  add "$key" $((t1 - t0))
}

# ---- start one, command to process running (each tool in turn, REPEAT times)
one_round() {
  local b p
  for b in "${spmi_backends[@]}"; do
    SPMI_PATH="$work/spmi-$b" timed "one.spmi_$b" "$SPMI" start t00001
    wait_sleeps 1 $(spmi_wrappers "$work/spmi-$b") >/dev/null
    SPMI_PATH="$work/spmi-$b" "$SPMI" kill t00001 >/dev/null 2>&1
  done
  if [ $s6_ok = 1 ]; then
    timed one.s6 s6-svc -wu -u "$work/s6/t00001"
    wait_sleeps 1 "$s6_pid" >/dev/null
    s6-svc -wd -d "$work/s6/t00001"
  fi
  if [ $sv_ok = 1 ]; then
    timed one.supervisord svctl sv start t00001
    wait_sleeps 1 "$sv_pid" >/dev/null
    svctl sv stop t00001 >/dev/null
  fi
  local t0 t1; t0=$(us_now); p=$(sh -c 'sleep 1000 >/dev/null 2>&1 & echo $!'); t1=$(us_now)
  add one.fork $((t1 - t0))
  kill -0 "$p" || { echo "peers.sh: the bare fork's sleep is not running" >&2; exit 1; }
  kill "$p"
}

# ---- start N until all run, memory, stop N until all gone
# many TOOL START-FN STOP-FN ROOTS-FN: one round for one tool; ROOTS-FN prints the supervisor pids.
many() {
  local tool=$1 t0 t1 sleeps
  t0=$(us_now); "$2" >/dev/null 2>&1; t1=$(us_now)
  sleeps=$(wait_sleeps "$N" $("$4")); [ -f "$work/found_at" ] && t1=$(<"$work/found_at")
  add "start.$tool" $((t1 - t0))
  memory "$tool" $("$4")
  t0=$(us_now); "$3" >/dev/null 2>&1; wait_gone $sleeps; t1=$(us_now)
  add "stop.$tool" $((t1 - t0))
}
# memory TOOL ROOTS...: PSS per task of what the supervisor adds (snapshot taken by wait_sleeps).
memory() {
  local tool=$1; shift
  case $tool in
    spmi_*) local own screens   # the roots are what spmi_wrappers found: wrappers, watchdogs
            own=$(below "$@" | awk '$2 != "sleep" && $2 !~ /^(screen|SCREEN)$/ {print $1}')
            add "mem.$tool" $(( $(pss_kib $own) / N ))
            screens=$( { below "$@"; awk -v ws=" $* " 'index(ws, " " $1 " ") {print $2}' "$work/ps" |
                         while read -r pp; do awk -v p="$pp" '$1 == p {print $1, $3}' "$work/ps"; done; } |
                       awk '$2 ~ /^(screen|SCREEN)$/ {print $1}' | sort -u)
            if [ -n "$screens" ]; then add "mem.screen_session" $(( $(pss_kib $screens) / N )); fi ;;
    s6)     add mem.s6 $(( $(pss_kib $(below "$s6_pid" | awk '$2 == "s6-supervise" || $2 == "s6-svscan" {print $1}')) / N )) ;;
    supervisord) add mem.supervisord $(( $(pss_kib "$sv_pid") / N )) ;;
  esac
}
spmi_start_all() { "$SPMI" start '.*'; }
spmi_stop_all() { "$SPMI" stop '.*'; }
spmi_roots() { spmi_wrappers "$SPMI_PATH"; }
s6_dirs() { printf '%s\n' "$work/s6"/t*; }
s6_start_all() { local d; for d in $(s6_dirs); do s6-svc -u "$d"; done; s6-svwait -u $(s6_dirs); }
s6_stop_all() { local d; for d in $(s6_dirs); do s6-svc -d "$d"; done; s6-svwait -d $(s6_dirs); }
s6_roots() { echo "$s6_pid"; }
sv_start_all() { svctl sv start all; }
sv_stop_all() { svctl sv stop all; }
sv_roots() { echo "$sv_pid"; }
many_round() {
  local b
  for b in "${spmi_backends[@]}"; do
    SPMI_PATH="$work/spmi-$b" many "spmi_$b" spmi_start_all spmi_stop_all spmi_roots
  done
  if [ $s6_ok = 1 ]; then many s6 s6_start_all s6_stop_all s6_roots; fi
  if [ $sv_ok = 1 ]; then many supervisord sv_start_all sv_stop_all sv_roots; fi
}

# ---- list and status of one with LOADED loaded, load of LOADED
loaded_round() {
  SPMI_PATH="$work/spmi-loaded" timed list.spmi_local "$SPMI" list
  SPMI_PATH="$work/spmi-loaded" timed status.spmi_local "$SPMI" status t00001
  if [ $s6_ok = 1 ]; then timed status.s6 s6-svstat "$work/s6-loaded/t00001"; fi
  if [ $sv_ok = 1 ]; then
    ok="0 3" timed list.supervisord svctl sv-loaded status
    ok="0 3" timed status.supervisord svctl sv-loaded status t00001
  fi
  rm -rf "$work/spmi-fresh"
  SPMI_PATH="$work/spmi-fresh" timed load.spmi_local "$SPMI" load "$work/spmi-d-loaded"/*.json
}

load_avg=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(us_now)
for r in $(seq 1 "$REPEAT"); do
  echo "peers.sh: round $r of $REPEAT" >&2
  timed ref.true /bin/true; timed ref.version "$SPMI" --version
  one_round; many_round; loaded_round
done
echo "peers.sh: measured in $(( ($(us_now) - t0) / 1000000 )) s" >&2

# ---- the table
# fig KEY [kib]: "median (min-max)" in ms (or KiB), "-" when not measured.
fig() {
  [ -n "${samples[$1]:-}" ] || { echo "-"; return; }
  printf '%s\n' ${samples[$1]} | sort -n | awk -v kib="${2:-}" '{a[NR] = $1}
    END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
          if (kib) printf "%d KiB (%d-%d)", m, a[1], a[NR]; else printf "%.2f (%.2f-%.2f)", m / 1000, a[1] / 1000, a[NR] / 1000 }'
}
ratio() { # ratio FIG-A FIG-B: A's median over B's, "-" when either is missing
  awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN { if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) print "-"; else printf "%.2fx", a / b }'
}
peer_col() { # peer_col TOOL-OK KEY [kib]
  if [ "$1" = 1 ]; then fig "$2" "${3:-}"; else echo "not run"; fi
}
line() { # line TITLE KEY-SUFFIX [kib]
  local l s sc sv f
  l=$(fig "$2.spmi_local" "${3:-}"); s=$(fig "$2.spmi_screen" "${3:-}")
  sc=$(peer_col $s6_ok "$2.s6" "${3:-}"); sv=$(peer_col $sv_ok "$2.supervisord" "${3:-}"); f=$(fig "$2.fork" "${3:-}")
  echo "| $1 | $l | $s | $sc | $sv | $f | $(ratio "$l" "$sc") | $(ratio "$l" "$sv") | $(ratio "$l" "$f") |"
}
echo "spmi beside s6 and supervisord: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, kernel $(uname -r), load average at start $load_avg;"
echo "N=$N tasks of \`sleep 1000\` started and stopped together, $LOADED loaded for list/status/load; median (min-max) of $REPEAT runs, ms unless noted."
echo "s6 $(dpkg-query -W -f='${Version}' s6 2>/dev/null || echo '(not installed)'), supervisor $(dpkg-query -W -f='${Version}' supervisor 2>/dev/null || echo '(not installed)'), screen $(dpkg-query -W -f='${Version}' screen 2>/dev/null || echo '(not installed)')."
echo "References: /bin/true $(fig ref.true), spmi --version $(fig ref.version)."
echo
echo "| work | spmi local | spmi screen | s6 | supervisord | a bare fork | spmi/s6 | spmi/supervisord | spmi/bare fork |"
echo "|---|---|---|---|---|---|---|---|---|"
line "start one, command to process running" one
line "start $N, until all run" start
line "stop $N, until all gone" stop
line "supervision memory per running task (PSS)" mem kib
line "list, $LOADED loaded" list
line "status of one, $LOADED loaded" status
line "load $LOADED descriptors" load
[ -n "${samples[mem.screen_session]:-}" ] &&
  echo "| (screen's own SCREEN process per task, PSS, not counted in spmi screen's memory) | | $(fig mem.screen_session kib) | | | | | | |"
exit 0
