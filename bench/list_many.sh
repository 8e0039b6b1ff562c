#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `list` and `status` of one with many manageables loaded (issue #18's "list of 10,000 under 10x of
# `spmi --version`"), apart from run.sh because loading 10,000 descriptors again for each of run.sh's
# repetitions takes minutes: N never-started tasks are loaded once into a private state (files of 1,000
# each), one `list` builds the list cache, then `--version`, `list` and `status` of one run in turn
# REPEAT times. Prints the medians (min-max) in ms and the ratios to `--version`.
#   usage: bench/list_many.sh [path/to/spmi]     (default build/bin/spmi)
#   BENCH_LIST_N=10000  BENCH_REPEAT=11
set -euo pipefail
cd "$(dirname "$0")/.."
SPMI=$(realpath "${1:-build/bin/spmi}")
N=${BENCH_LIST_N:-10000}
REPEAT=${BENCH_REPEAT:-11}
work=$(mktemp -d /tmp/spmi-list-many.XXXXXX)
trap 'rm -rf "$work"' EXIT
export SPMI_PATH="$work/state"

python3 - "$work" "$N" <<'EOF'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
for first in range(0, n, 1000):
    tasks = [{"task": {"id": "t%05d" % i, "comment": "task %d" % i, "backend": {"type": "local"},
                       "wrapper": {"type": "default", "command": "sleep 1000"}}}
             for i in range(first + 1, min(n, first + 1000) + 1)]
    with open("%s/d%05d.json" % (work, first), "w") as f:
        json.dump(tasks, f)
EOF
"$SPMI" load "$work"/d*.json >/dev/null 2>&1
sleep 1.1  # the list cache keeps only directories unchanged for over a second
"$SPMI" list >/dev/null 2>&1

declare -A times
for _ in $(seq 1 "$REPEAT"); do
  for what in version list status; do
    case $what in
      version) cmd=("$SPMI" --version) ;;
      list) cmd=("$SPMI" list) ;;
      status) cmd=("$SPMI" status t00001) ;;
    esac
    start=$(date +%s%N)
    "${cmd[@]}" >/dev/null 2>&1
    times[$what]+="$(( $(date +%s%N) - start )) "
  done
done
stats() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.2f %.2f %.2f", m/1e6, a[1]/1e6, a[NR]/1e6}'; }
read -r version vmin vmax <<<"$(stats "${times[version]}")"
echo "spmi list and status with $N never-started manageables loaded: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores;"
echo "median (min-max) of $REPEAT runs in turn, ms; ratio = median / median of --version."
echo
echo "| work | ms | ratio to --version |"
echo "|---|---|---|"
echo "| spmi --version | $version ($vmin-$vmax) | 1.00x |"
for what in list status; do
  read -r median min max <<<"$(stats "${times[$what]}")"
  label=$([ "$what" = list ] && echo "list, $N loaded" || echo "status of one, $N loaded")
  echo "| $label | $median ($min-$max) | $(awk -v a="$median" -v b="$version" 'BEGIN {printf "%.2fx", a / b}') |"
done
