#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Output is bounded by default (issue #13): with no output keys the wrapper pumps the task's output
# through pipes and rotates it (50 MiB x 10 files kept, as supervisord); max_output_size = 0 (or "0")
# lets the task write straight into the files, unbounded; a small explicit size keeps the default
# number of old files, 10.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

json_pid() { "$SPMI" status "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["manageables"][0]["pid"])'; }
# fd_of ID N: where the task's file descriptor N points (pipe:[...] or a file).
fd_of() { readlink "/proc/$(json_pid "$1")/fd/$2"; }
apart() { sed -i 's/^mixed_stdout = true$/mixed_stdout = false/' "$1"; }

task_toml default.toml bounded "echo up; exec sleep 1401.$TAG" "$BACKEND"
apart default.toml
task_toml zero.toml unbounded "echo up; exec sleep 1402.$TAG" "$BACKEND" 'max_output_size = 0'
task_toml zero_text.toml unbounded_text "echo up; exec sleep 1403.$TAG" "$BACKEND" 'max_output_size = "0"'
run 0 load default.toml zero.toml zero_text.toml
run 0 start bounded unbounded unbounded_text
for id in bounded unbounded unbounded_text; do
  wait_for 10 grep -qx up "$SPMI_PATH/$id/stdout" || fail "$id did not start"
done

# No output keys: stdout and stderr are pipes the wrapper reads.
for n in 1 2; do
  [[ "$(fd_of bounded $n)" == pipe:* ]] || fail "bounded: fd $n is $(fd_of bounded $n), not a pipe (output not bounded)"
done
pass "by default the output goes through the wrapper's pump"

# max_output_size = 0 or "0": the task writes into the file itself.
for id in unbounded unbounded_text; do
  for n in 1 2; do
    [ "$(fd_of $id $n)" = "$SPMI_PATH/$id/stdout" ] || fail "$id: fd $n is $(fd_of $id $n), not the stdout file"
  done
done
pass "max_output_size = 0 and \"0\" write straight into the file"
run 0 stop bounded unbounded unbounded_text

# Values under 1024 other than 0 are still refused, and the message names 0.
task_toml small.toml small "true" "$BACKEND" 'max_output_size = 10'
run 3 load small.toml
err_has 'task.wrapper.max_output_size: 10 is below the minimum, 1KiB; use at least 1KiB, or 0 for no limit'
pass "max_output_size = 10 is refused"

# A small explicit size rotates and keeps the default 10 old files.
task_toml rot.toml rot 'seq 1 6000' "$BACKEND" 'max_output_size = "1K"'
run 0 load rot.toml
run 0 start rot
wait_for 30 is_inactive rot || fail "rot did not end"
[ -e "$SPMI_PATH/rot/stdout.10" ] || fail "stdout.10 missing: $(ls "$SPMI_PATH/rot")"
[ ! -e "$SPMI_PATH/rot/stdout.11" ] || fail "more than 10 old files kept: $(ls "$SPMI_PATH/rot")"
for f in "$SPMI_PATH/rot"/stdout*; do
  [ "$(stat -c %s "$f")" -le 1024 ] || fail "$f is larger than 1 KiB"
done
tail -1 "$SPMI_PATH/rot/stdout" | grep -qx 6000 || fail "the last line is not 6000"
pass "max_output_size = \"1K\" rotates and keeps 10 old files by default"
echo "output_bounds ($BACKEND): all passed"
