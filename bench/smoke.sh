#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CTest `bench.smoke`: the peer benchmark (bench/peers.sh) with tiny sizes and one repetition prints a
# complete table (and bench/list_many.sh its three lines): every line, with a number for spmi local (and spmi screen where screen is installed)
# and for each installed peer on the lines it has. It asserts the shape, never the speed. Exit 77 when
# s6 or supervisord is not installed (after spmi's figures were checked: those missing fail the test).
#   env: SPMI (the built spmi; default build/bin/spmi)
set -euo pipefail
cd "$(dirname "$0")/.."
SPMI=${SPMI:-build/bin/spmi}
out=$(mktemp /tmp/spmi-bench-smoke.XXXXXX)
trap 'rm -f "$out"' EXIT

BENCH_REPEAT=${BENCH_SMOKE_REPEAT:-1} BENCH_PEERS_N=3 BENCH_PEERS_LOADED=20 bash bench/peers.sh "$SPMI" >"$out"
cat "$out"

fail=0
num='[0-9]+(\.[0-9]+)? \([0-9.]+-[0-9.]+\)'
kib='[0-9]+ KiB \([0-9]+-[0-9]+\)'
# cell TITLE COLUMN PATTERN: the table's line starting with TITLE has PATTERN in COLUMN (1 = spmi local).
cell() {
  local row value
  row=$(grep -F "| $1" "$out" | head -1) || true
  if [ -z "$row" ]; then echo "bench.smoke: no line '$1'" >&2; fail=1; return; fi
  row=${row% |}
  value=$(awk -F' \\| ' -v c="$(($2 + 1))" '{print $c}' <<<"$row")
  if ! [[ "$value" =~ ^$3$ ]]; then echo "bench.smoke: '$1', column $2: '$value' is not a figure" >&2; fail=1; fi
}
missing=()
command -v s6-svscan >/dev/null 2>&1 || missing+=(s6)
command -v supervisord >/dev/null 2>&1 || missing+=(supervisord)
has() { [[ " ${missing[*]} " != *" $1 "* ]]; }
for title in "start one, command to process running" "start 3, until all run" "stop 3, until all gone" \
             "list, 20 loaded" "status of one, 20 loaded" "load 20 descriptors"; do
  cell "$title" 1 "$num"
done
cell "supervision memory per running task (PSS)" 1 "$kib"
if command -v screen >/dev/null 2>&1; then
  for title in "start one, command to process running" "start 3, until all run" "stop 3, until all gone"; do
    cell "$title" 2 "$num"
  done
  cell "supervision memory per running task (PSS)" 2 "$kib"
fi
cell "start one, command to process running" 5 "$num"                 # the bare fork
cell "start one, command to process running" 8 '[0-9.]+x'            # spmi / bare fork
if has s6; then
  for title in "start one, command to process running" "start 3, until all run" "stop 3, until all gone" \
               "status of one, 20 loaded"; do
    cell "$title" 3 "$num"
  done
  cell "supervision memory per running task (PSS)" 3 "$kib"
  cell "start one, command to process running" 6 '[0-9.]+x'
fi
if has supervisord; then
  for title in "start one, command to process running" "start 3, until all run" "stop 3, until all gone" \
               "list, 20 loaded" "status of one, 20 loaded"; do
    cell "$title" 4 "$num"
  done
  cell "supervision memory per running task (PSS)" 4 "$kib"
  cell "list, 20 loaded" 7 '[0-9.]+x'
fi
# bench/list_many.sh with a tiny N: its three lines, each with a figure and a ratio.
BENCH_REPEAT=1 BENCH_LIST_N=30 bash bench/list_many.sh "$SPMI" >"$out"
cat "$out"
for title in "spmi --version" "list, 30 loaded" "status of one, 30 loaded"; do
  grep -Eq "^\| $title \| $num \| [0-9.]+x \|$" "$out" || { echo "bench.smoke: list_many.sh has no line '$title'" >&2; fail=1; }
done
[ "$fail" = 0 ] || exit 1
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench.smoke: spmi's figures are complete; skipped, not installed: ${missing[*]}" >&2
  exit 77
fi
echo "bench.smoke: complete table"
