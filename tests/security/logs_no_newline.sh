#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack: a task (or whoever can make it print) writes 100 MB without a newline — a progress bar redrawn
# with '\r' does this by itself. `spmi logs` read the file backwards by prepending each block to what
# it had read and counting again from the end: quadratic (48 MB took 8.7 s), and all of it in memory.
# Now it finds where the last lines begin by reading backwards in blocks, then copies from there: linear,
# constant memory. Like `tail -n`, it prints whole lines, so the whole 100 MB line is printed.
source "$(dirname "$0")/common.sh"

task_toml bar.toml bar 'true' local
run 0 load bar.toml
dir=$SPMI_PATH/bar
[ -d "$dir" ] || fail "no state directory $dir after load"

# 100 MB of "\rprogress NN%" and no newline at all: the never-started task's stdout (and stderr).
head -c 100000000 <(yes $'\rprogress 42%' | tr -d '\n') >"$dir/stdout"
cp "$dir/stdout" "$dir/stderr"
[ "$(stat -c %s "$dir/stdout")" = 100000000 ] || fail "could not make the 100 MB file"

# timed_logs NAME EXPECTED-FILE ARGS...: `spmi logs ARGS` prints exactly EXPECTED-FILE within the budget.
timed_logs() {
  local name=$1 expected=$2; shift 2
  timed_spmi "$T/logs.out" logs "$@"
  [ "$rc" = 0 ] || fail "$name: spmi logs $* exited $rc (after ${wall} ms)"
  [ "$cpu" -lt "$budget_ms" ] || fail "$name: spmi logs $* used ${cpu} ms of CPU (budget ${budget_ms} ms)"
  cmp -s "$T/logs.out" "$expected" || fail "$name: spmi logs $* did not print the file's last lines"
  rm -f "$T/logs.out"
  pass "$name: right output, ${cpu} ms of CPU (${wall} ms)"
}

timed_logs "100 MB line, default -n" "$dir/stdout" bar
timed_logs "100 MB line, -n 1" "$dir/stdout" -n 1 bar
timed_logs "100 MB line, --stderr --lines 3" "$dir/stderr" --stderr --lines 3 bar

# The same line, then two short ones: -n 2 prints only the short ones, -n 3 the big one too.
printf '\nlast one\nlast two\n' >>"$dir/stdout"
printf 'last one\nlast two\n' >"$T/two"
timed_logs "100 MB line then short ones, -n 2" "$T/two" -n 2 bar
tail -n 3 "$dir/stdout" >"$T/three"
timed_logs "100 MB line then short ones, -n 3" "$T/three" -n 3 bar
rm -f "$T/three"

# Follow: the tail comes out at once, then what is appended.
"$SPMI" logs -f -n 2 bar >"$T/follow.out" 2>"$T/err" </dev/null &
follower=$!
wait_for $((wall_ms / 1000)) cmp -s "$T/follow.out" "$T/two" || { kill "$follower"; fail "logs -f did not print the last 2 lines"; }
printf 'appended\n' >>"$dir/stdout"
wait_for 10 grep -qx appended "$T/follow.out" || { kill "$follower"; fail "logs -f did not print an appended line"; }
kill -INT "$follower"
wait "$follower" || fail "logs -f did not end cleanly on SIGINT"
pass "logs -f prints the tail of the 100 MB file and follows"
rm -f "$dir/stdout" "$dir/stderr"

# Many short lines (3 million, ~21 MB): still the right last N, fast.
seq 1 3000000 >"$dir/stdout"
tail -n 7 "$dir/stdout" >"$T/seven"
timed_logs "3 million short lines, -n 7" "$T/seven" -n 7 bar
seq 2999991 3000000 >"$T/ten"
timed_logs "3 million short lines, default -n" "$T/ten" bar
echo "logs_no_newline: all passed"
