#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# spmi's benchmark: builds private state directories with N registered manageables and measures, as
# medians over repeated runs, what a user pays per call; then runs bench/peers.sh, spmi beside s6 and
# supervisord on the same work (see the top of peers.sh for what each of its lines measures and how).
# Prints both Markdown tables and writes them, after the command that made them, to bench/results.md
# (or $BENCH_OUT).
#   usage: bench/run.sh [path/to/spmi]          (default build/bin/spmi; build it first)
#          bench/run.sh --peers [path/to/spmi]  (only the side-by-side table, on stdout; = bench/peers.sh)
#   BENCH_SIZES="10 100 1000 10000"  BENCH_REPEAT=15  BENCH_PEERS_RUN=1 (0: leave the peers out)
#   BENCH_PEERS_REPEAT=7 (peers.sh's repetitions), and peers.sh's own: BENCH_PEERS_N=50
#   BENCH_PEERS_LOADED=1000 BENCH_PEERS="s6 supervisord"
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --peers ]; then shift; exec bash bench/peers.sh "$@"; fi
made_by="BENCH_SIZES=\"${BENCH_SIZES:-10 100 1000 10000}\" BENCH_REPEAT=${BENCH_REPEAT:-15} bench/run.sh $*"
load_avg=$(cut -d' ' -f1-3 /proc/loadavg)
SPMI=$(realpath "${1:-build/bin/spmi}")
SIZES=${BENCH_SIZES:-10 100 1000 10000}
REPEAT=${BENCH_REPEAT:-15}
OUT=${BENCH_OUT:-bench/results.md}
work=$(mktemp -d /tmp/spmi-bench.XXXXXX)
trap 'SPMI_PATH="$work/run" "$SPMI" kill ".*" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

now_ns() { date +%s%N; }
# median_ms CMD...: runs CMD $REPEAT times (output discarded) and prints the median in ms (2 decimals).
median_ms() {
  local times=() i start
  for i in $(seq 1 "$REPEAT"); do
    start=$(now_ns)
    "$@" >/dev/null 2>&1 || true
    times+=($(( $(now_ns) - start )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1e6}'
}
# interleaved_ms CMD1 CMD2 ...: each a command line (word-split), run in turn $REPEAT times, so that
# the machine's load weighs on all alike; prints the median of each in ms, one per line.
interleaved_ms() {
  local -  # set -f below ends with the function
  set -f   # the patterns are not globs
  local -a times=()
  local i c cmd start
  for i in $(seq 1 "$REPEAT"); do
    c=0
    for cmd in "$@"; do
      start=$(now_ns)
      $cmd >/dev/null 2>&1 || true
      times[c]+="$(( $(now_ns) - start )) "
      c=$((c + 1))
    done
  done
  for c in "${!times[@]}"; do
    printf '%s\n' ${times[c]} | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f\n", m/1e6}'
  done
}
descriptors() { # DIR N BACKEND COMMAND
  mkdir -p "$1"
  local i
  for i in $(seq 1 "$2"); do
    printf '{"task":{"id":"t%05d","comment":"task %d","backend":{"type":"%s"},"wrapper":{"type":"default","command":"%s"}}}\n' \
      "$i" "$i" "$3" "$4" > "$1/t$i.json"
  done
}

# outputs STATE N: gives each of N loaded tasks the stdout file a run would have left, 20 lines (written
# here, as starting 1,000 tasks would measure the start, not logs); mode 0600 as the wrapper makes it.
outputs() {
  local i line
  line=$(printf '%s\n' "$(seq -s ' ' 1 12)")
  for i in $(seq 1 "$2"); do
    (umask 077; for j in $(seq 1 20); do printf '%s line %d of task %d\n' "$line" "$j" "$i"; done >"$1/$(printf 't%05d' "$i")/stdout")
  done
}
# load_ms STATE FILES...: the median ms of `spmi load FILES` into a fresh STATE each time (at most 5 runs).
load_ms() {
  local state=$1 times=() i start; shift
  for i in $(seq 1 $(( REPEAT < 5 ? REPEAT : 5 ))); do
    rm -rf "$state"
    start=$(now_ns)
    SPMI_PATH="$state" "$SPMI" load "$@" >/dev/null 2>&1
    times+=($(( $(now_ns) - start )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1e6}'
}

rows=()
row() { rows+=("| $1 | $2 | $3 |"); echo "  $1, N=$2: $3 ms" >&2; }

row "a process that does nothing (/bin/true): the floor of any call" "-" "$(median_ms /bin/true)"
row "spmi --version (start-up only)" "-" "$(median_ms "$SPMI" --version)"
row "spmi plugins (start-up + plugin discovery of every plugin directory)" "-" "$(median_ms "$SPMI" plugins)"
for n in $SIZES; do
  echo "N = $n" >&2
  descriptors "$work/d$n" "$n" local "sleep 600"
  # load of N descriptors in one call, into a fresh state each time
  row "load of N descriptors (one call)" "$n" "$(load_ms "$work/s$n" "$work/d$n"/*.json)"
  # the same N as one file with a matrix of N combinations
  printf '{"task":{"id":"t{i}","comment":"task {i}","matrix":{"i":[%s]},"backend":{"type":"local"},"wrapper":{"type":"default","command":"sleep 600"}}}\n' \
    "$(seq -s, 1 "$n")" >"$work/matrix$n.json"
  row "load of one matrix file of N combinations" "$n" "$(load_ms "$work/m$n" "$work/matrix$n.json")"
  # Over many: a pattern that matches all N (the most records to read), one in ten, and the last 10
  # lines of each of N, measured in turn with the plain list (after the load's writes are on disk).
  outputs "$work/s$n" "$n"
  sync
  mapfile -t many < <(SPMI_PATH="$work/s$n" interleaved_ms "$SPMI list" "$SPMI list t.*" "$SPMI list t.*0" \
                      "$SPMI logs -n 10 t.*")
  row "list" "$n" "${many[0]}"
  row "status of one (plain ID)" "$n" "$(SPMI_PATH="$work/s$n" median_ms "$SPMI" status t00001)"
  row "list PATTERN (all N match 't.*')" "$n" "${many[1]}"
  row "list PATTERN (one in ten matches 't.*0')" "$n" "${many[2]}"
  row "logs PATTERN -n 10 (all N, 20 lines of output each)" "$n" "${many[3]}"
done

# start of one until its process runs, per backend
for backend in local screen; do
  command -v "$backend" >/dev/null 2>&1 || [ "$backend" = local ] || continue
  descriptors "$work/one-$backend" 1 "$backend" "sleep 600"
  times=()
  for i in $(seq 1 "$REPEAT"); do
    export SPMI_PATH="$work/start-$backend"
    rm -rf "$SPMI_PATH"
    "$SPMI" load "$work/one-$backend"/*.json >/dev/null 2>&1
    start=$(now_ns)
    "$SPMI" start t00001 >/dev/null 2>&1   # returns once the wrapper reports the task's pid
    times+=($(( $(now_ns) - start )))
    "$SPMI" kill t00001 >/dev/null 2>&1
  done
  row "start of one until its process runs ($backend)" "1" "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1e6}')"
done

# start of 50 (local), one call
descriptors "$work/fifty" 50 local "sleep 600"
export SPMI_PATH="$work/run"
"$SPMI" load "$work/fifty"/*.json >/dev/null 2>&1
start=$(now_ns)
"$SPMI" start '.*' >/dev/null 2>&1
row "start of 50 (local), one call" "50" "$(awk -v t=$(( $(now_ns) - start )) 'BEGIN {printf "%.2f", t/1e6}')"

# supervision memory per running task: everything spmi adds besides the task (wrapper + watchdog)
pss=0; rss=0; count=0
for pid in $(pgrep -f "(__run|spmi-supervise) (.* )?$work/run/"); do   # wrappers (lean or not), watchdogs
  if [ -r "/proc/$pid/smaps_rollup" ]; then
    pss=$(( pss + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup") ))
    rss=$(( rss + $(awk '/^Rss:/ {print $2}' "/proc/$pid/smaps_rollup") ))
    count=$((count + 1))
  fi
done
rows+=("| supervision memory per running task (local): PSS / RSS of wrapper + watchdog, KiB | 50 | $(( pss / 50 )) / $(( rss / 50 )) |")

# list of 50 running tasks (run records, resource use of each tree from /proc) against the same 50
# stopped: the difference over 50 is what one running task adds to a list.
running=$(median_ms "$SPMI" list)
"$SPMI" kill '.*' >/dev/null 2>&1 || true
stopped=$(median_ms "$SPMI" list)
row "list, 50 running / the same 50 stopped" "50" "$running / $stopped"
row "what one running task adds to list (CPU, memory, uptime of its tree)" "50" "$(awk -v a="$running" -v b="$stopped" 'BEGIN {printf "%.2f", (a-b)/50}')"

# spmi beside its peers, after the tasks above are gone (peers.sh takes BENCH_REPEAT too, default 7)
if [ "${BENCH_PEERS_RUN:-1}" != 0 ]; then
  BENCH_REPEAT=${BENCH_PEERS_REPEAT:-7} bash bench/peers.sh "$SPMI" >"$work/peers.md"
fi

{
  echo "Made by: \`$made_by\` (bench/peers.sh with BENCH_REPEAT=${BENCH_PEERS_REPEAT:-7})"
  echo
  echo "spmi benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), load average at start $load_avg, medians of $REPEAT runs (ms unless noted)"
  echo
  echo "| work | N | result |"
  echo "|---|---|---|"
  printf '%s\n' "${rows[@]}"
  if [ -s "$work/peers.md" ]; then echo; cat "$work/peers.md"; fi
} | tee "$OUT"
