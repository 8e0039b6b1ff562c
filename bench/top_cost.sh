#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What `spmi top` costs: N loaded manageables (local backend, `sleep`), ACTIVE of them running, and
# `spmi top` (default 2 s refresh) on a tmux pane of its own for SECONDS; prints the CPU time it used
# (utime + stime from /proc/<pid>/stat) as a share of one CPU.
#   usage: bench/top_cost.sh [path/to/spmi]   TOP_N=1000 TOP_ACTIVE=50 TOP_SECONDS=60 TOP_INTERVAL=2
set -euo pipefail
cd "$(dirname "$0")/.."
SPMI=$(realpath "${1:-build/bin/spmi}")
N=${TOP_N:-1000}
ACTIVE=${TOP_ACTIVE:-50}
SECONDS_RUN=${TOP_SECONDS:-60}
INTERVAL=${TOP_INTERVAL:-2}
work=$(mktemp -d /tmp/spmi-top-cost.XXXXXX)
socket="spmi-top-cost-$$"
export SPMI_PATH="$work/state"
trap 'tmux -L "$socket" kill-server 2>/dev/null || true; "$SPMI" kill ".*" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

mkdir -p "$work/d"
for i in $(seq 1 "$N"); do
  printf '{"task":{"id":"t%05d","comment":"task %d","backend":{"type":"local"},"wrapper":{"type":"default","command":"sleep 3600"}}}\n' \
    "$i" "$i" > "$work/d/t$i.json"
done
"$SPMI" load "$work"/d/*.json 2>/dev/null
"$SPMI" start $(seq -f 't%05g' 1 "$ACTIVE") 2>/dev/null

tmux -L "$socket" new-session -d -s top -x 160 -y 50 "env SPMI_PATH=$SPMI_PATH $SPMI top -i $INTERVAL"
pid=$(tmux -L "$socket" display-message -p -t top '#{pane_pid}')
sleep 3  # past the first full read
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
t0=$(ticks); start=$(date +%s.%N)
sleep "$SECONDS_RUN"
t1=$(ticks); end=$(date +%s.%N)
awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v s="$start" -v e="$end" -v n="$N" -v a="$ACTIVE" -v i="$INTERVAL" \
  'BEGIN { printf "spmi top, %d manageables (%d running), refresh %ss: %.2f s of CPU in %.1f s = %.2f%% of one CPU\n", n, a, i, t / hz, e - s, 100 * t / hz / (e - s) }'
