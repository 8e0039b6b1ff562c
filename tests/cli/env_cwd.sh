#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# env, env_file and cwd as the task sees them (relative paths are relative to the descriptor's
# directory; the default working directory is where `spmi load` ran); a missing cwd or env_file
# fails start naming the manageable, key and path; bad values are refused at load with file and key.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

mkdir -p "$T/desc/work" "$T/elsewhere"
cat >"$T/desc/vars.env" <<'VARS'
# a comment, then a blank line

FROM_FILE=file value
BOTH=from file
export QUOTED="a b"
VARS
task_toml "$T/desc/env.toml" envtask "pwd >$T/seen; printf '%s|%s|%s|%s|%s\n' \"\$GREETING\" \"\$FROM_FILE\" \"\$BOTH\" \"\$QUOTED\" \"\$SPMI_ID\" >>$T/seen" "$BACKEND" \
  'env_file = "vars.env"' 'cwd = "work"' 'env = { GREETING = "hi there", BOTH = "from env" }'
run 0 load "$T/desc/env.toml"
( cd "$T/elsewhere" && run 0 start envtask )
has_lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" = "$2" ]; }
wait_for 10 has_lines "$T/seen" 2 || fail "the task did not report"
[ "$(sed -n 1p "$T/seen")" = "$T/desc/work" ] || fail "cwd: $(sed -n 1p "$T/seen")"
[ "$(sed -n 2p "$T/seen")" = "hi there|file value|from env|a b|envtask" ] || fail "env: $(sed -n 2p "$T/seen")"
pass "env, env_file (env wins) and cwd relative to the descriptor"

# Absolute cwd.
task_toml abs.toml abscwd "pwd >$T/abs.seen" "$BACKEND" "cwd = \"$T/elsewhere\""
run 0 load abs.toml
run 0 start abscwd
wait_for 10 test -s "$T/abs.seen" || fail "abscwd did not report"
[ "$(cat "$T/abs.seen")" = "$T/elsewhere" ] || fail "absolute cwd: $(cat "$T/abs.seen")"
pass "absolute cwd"

# Default: the directory `spmi load` ran in, not the one of `spmi start`.
task_toml plain.toml plaincwd "pwd >$T/plain.seen" "$BACKEND"
run 0 load plain.toml
( cd "$T/elsewhere" && "$SPMI" start plaincwd >/dev/null 2>&1 ) || fail "start plaincwd"
wait_for 10 test -s "$T/plain.seen" || fail "plaincwd did not report"
[ "$(cat "$T/plain.seen")" = "$T" ] || fail "default cwd: $(cat "$T/plain.seen")"
pass "default cwd is where spmi load ran"

# A missing cwd fails start, naming the manageable, the key and the path; nothing keeps running.
task_toml "$T/desc/nocwd.toml" nocwd "echo ran >$T/nocwd.ran" "$BACKEND" 'cwd = "missing/dir"'
task_toml "$T/desc/noenv.toml" noenv "echo ran >$T/noenv.ran" "$BACKEND" 'env_file = "/nonexistent/vars.env"'
printf 'GOOD=1\nthis line is bad\n' >"$T/desc/bad.env"
task_toml "$T/desc/badenv.toml" badenv "echo ran >$T/badenv.ran" "$BACKEND" 'env_file = "bad.env"'
run 0 load "$T/desc/nocwd.toml" "$T/desc/noenv.toml" "$T/desc/badenv.toml"
run 1 start nocwd
err_has "manageable 'nocwd'"
err_has "task.wrapper.cwd: cannot use '$T/desc/missing/dir' as the working directory (No such file or directory)"
run 1 start noenv
err_has "manageable 'noenv'"
err_has "task.wrapper.env_file: cannot read '/nonexistent/vars.env' (No such file or directory)"
run 1 start badenv
err_has "manageable 'badenv'"
err_has "$T/desc/bad.env:2: not a KEY=VALUE line"
! grep -q "this line is bad" "$T/err" || fail "start quoted the bad env_file line (it may hold a secret)"
for id in nocwd noenv badenv; do
  [ ! -e "$T/$id.ran" ] || fail "$id ran its command"
  run 0 list
  grep -qE "^$id +inactive" "$T/out" || fail "$id is not inactive"
done
pass "missing cwd, missing env_file, bad env_file line fail start"

# Bad values are refused at load, naming the file and the key.
bad() {  # bad KEY-LINE EXPECTED-MESSAGE
  task_toml bad.toml badone 'true' "$BACKEND" "$1"
  run 3 load bad.toml
  err_has "bad.toml: task.wrapper.$2"
}
bad 'restart = "sometimes"' "restart: 'sometimes' is not a restart policy"
bad 'restart = true' "restart"
bad 'restart_delay = -1' "restart_delay: -1 is out of range"
task_toml bad.toml badone 'true' "$BACKEND" 'restart_delay = 5' 'restart_delay_max = 2'
run 3 load bad.toml
err_has "bad.toml: task.wrapper.restart_delay_max: 2 s is less than restart_delay (5 s)"
bad 'max_restarts = 0' "max_restarts: 0 is out of range; use a whole number from 1 to 1000000"
bad 'max_restarts = 2.5' "max_restarts: 2.5 is not a whole number; use a whole number from 1 to 1000000"
bad 'restart_window = 0' "restart_window: 0 is out of range"
bad 'env = "A=1"' "env: expected a table of strings (NAME = \"value\"), got a string"
bad 'env = { A = 1 }' "env.A: expected a string, got an integer; quote it"
bad 'env = { "1A" = "x" }' "env.1A: '1A' is not a valid variable name"
bad 'env_file = 3' "env_file"
bad 'cwd = ""' "cwd: empty path"
bad 'max_output_size = "10X"' "max_output_size: '10X' is not a size"
bad 'max_output_size = 100' "max_output_size: 100 is below the minimum, 1KiB; use at least 1KiB, or 0 for no limit"
bad 'max_output_size = -5' "max_output_size: -5 is not a size"
bad 'output_files_kept = -1' "output_files_kept: -1 is out of range; use a whole number from 0 to 1000"
bad 'timestamps = "yes"' "timestamps"
pass "bad values refused at load with file and key"
echo "env_cwd ($BACKEND): all passed"
