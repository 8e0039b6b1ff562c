#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# max_output_size / output_files_kept: the wrapper rotates stdout and stderr by renaming (stdout ->
# stdout.1 -> ...), keeps at most output_files_kept old files, none larger than max_output_size, and
# loses no line; timestamps = true prefixes every line; connect follows across rotations and stdin
# still reaches the task; logs -f follows the rotations too; both read a truncated file from its start.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

state_of() { "$SPMI" list 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
# apart FILE: stdout and stderr in files of their own (task_toml mixes them).
apart() { sed -i 's/^mixed_stdout = true$/mixed_stdout = false/' "$1"; }
# sizes_ok ID STREAM MAX: every file of the stream is at most MAX bytes.
sizes_ok() {
  local f
  for f in "$SPMI_PATH/$1/$2" "$SPMI_PATH/$1/$2".*; do
    [ -e "$f" ] || continue
    [ "$(stat -c %s "$f")" -le "$3" ] || fail "$f is $(stat -c %s "$f") bytes, more than $3"
  done
}
# joined ID STREAM: the stream's files, oldest first, concatenated.
joined() {
  local n
  for n in $(ls "$SPMI_PATH/$1" | sed -n "s/^$2\.\([0-9]*\)\$/\1/p" | sort -rn); do cat "$SPMI_PATH/$1/$2.$n"; done
  cat "$SPMI_PATH/$1/$2"
}

# Many lines on stdout and on stderr (apart), 1 KiB files, 3 kept.
task_toml rot.toml rot 'for i in $(seq 1 3000); do echo "out line $i"; echo "err line $i" >&2; done' "$BACKEND" \
  'max_output_size = "1K"' 'output_files_kept = 3'
apart rot.toml
run 0 load rot.toml
run 0 start rot
wait_for 30 is_state rot inactive || fail "rot did not end"
for stream in stdout stderr; do
  files=$(ls "$SPMI_PATH/rot" | grep -cE "^$stream(\.[0-9]+)?\$")
  [ "$files" = 4 ] || fail "$stream: $files files, expected 4 (current + 3 kept): $(ls "$SPMI_PATH/rot")"
  [ ! -e "$SPMI_PATH/rot/$stream.4" ] || fail "$stream.4 kept"
  sizes_ok rot "$stream" 1024
  word=${stream#std}
  # What is kept is the end of the output, every line whole and in order, up to the last one.
  joined rot "$stream" >"$T/kept"
  first=$(head -1 "$T/kept" | awk '{ print $3 }')
  seq "$first" 3000 | sed "s/^/$word line /" | cmp -s - "$T/kept" || fail "$stream: kept lines are not $first..3000"
done
pass "rotation keeps 3 + 1 files of at most 1 KiB, the latest lines whole"

# With enough files kept, not one line is lost across rotations (and the task's end is drained).
task_toml all.toml keepall 'seq 1 20000; printf "no newline at the end"' "$BACKEND" \
  'max_output_size = 2048' 'output_files_kept = 1000'
run 0 load all.toml
run 0 start keepall
wait_for 30 is_state keepall inactive || fail "keepall did not end"
sizes_ok keepall stdout 2048
{ seq 1 20000; printf "no newline at the end"; } | cmp - <(joined keepall stdout) || fail "lines lost or changed"
[ "$(ls "$SPMI_PATH/keepall" | grep -c '^stdout')" -gt 40 ] || fail "too few rotations"
pass "no line lost across $(ls "$SPMI_PATH/keepall" | grep -c '^stdout') files"

# timestamps = true: every line starts with an ISO-8601 UTC time with milliseconds, on both streams;
# a partial line is ended so the next one gets its own prefix.
task_toml ts.toml stamped 'echo one; printf "partial"; sleep 0.2; echo " rest"; echo two >&2; echo; echo last' "$BACKEND" \
  'timestamps = true'
apart ts.toml
run 0 load ts.toml
run 0 start stamped
wait_for 10 is_state stamped inactive || fail "stamped did not end"
stamp='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z '
for f in stdout stderr; do
  [ -s "$SPMI_PATH/stamped/$f" ] || fail "$f is empty"
  ! grep -vqE "$stamp" "$SPMI_PATH/stamped/$f" || fail "$f has a line without a timestamp: $(grep -vE "$stamp" "$SPMI_PATH/stamped/$f")"
done
sed -E "s/$stamp//" "$SPMI_PATH/stamped/stdout" | diff - <(printf 'one\npartial rest\n\nlast\n') >/dev/null ||
  fail "stdout text: $(cat "$SPMI_PATH/stamped/stdout")"
sed -E "s/$stamp//" "$SPMI_PATH/stamped/stderr" | grep -qx two || fail "stderr text"
# The time is now, in UTC.
year=$(date -u +%Y)
head -1 "$SPMI_PATH/stamped/stdout" | grep -q "^$year-" || fail "not this year's UTC time"
run 0 status stamped
grep -qE "${stamp}last\$" "$T/out" || fail "status does not show the stamped output"
pass "timestamps prefix every line"

# Mixed output with rotation and timestamps: connect follows the current file across rotations, and
# what it forwards reaches the task's stdin. (Like `tail -F`, a follower that polls every 50 ms would
# skip a whole file if two rotations came between two polls; this task writes slower than that.)
task_toml chat.toml chat 'echo ready; while read line; do for i in $(seq 1 60); do echo "got $line $i"; sleep 0.01; done; done' "$BACKEND" \
  'max_output_size = "1K"' 'output_files_kept = 2' 'timestamps = true'
run 0 load chat.toml
run 0 start chat
wait_for 10 grep -q ' ready$' "$SPMI_PATH/chat/stdout" || fail "chat did not start"
rc=0
{ echo first; sleep 0.5; echo second; sleep 2; } | timeout 20 "$SPMI" connect chat >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 0 ] || fail "connect exited $rc"
out_has "got second 60"
# From "got second 1" on, connect printed every line once, in order, though the file was rotated.
sed -E "s/$stamp//" "$T/out" | sed -n '/^got second 1$/,$p' >"$T/seen"
seq 1 60 | sed 's/^/got second /' | cmp -s - "$T/seen" || fail "connect missed or repeated lines: $(head -3 "$T/seen")"
[ -e "$SPMI_PATH/chat/stdout.1" ] || fail "chat never rotated"
sizes_ok chat stdout 1024
pass "connect follows across rotations; stdin still works"
run 0 stop chat
# logs -f follows the real wrapper's rotations: every line once, in order, from the file the task
# writes when it starts to the third rotation and beyond.
task_toml ticks.toml ticks "echo ready; while [ ! -e '$T/go' ]; do sleep 0.05; done; for i in \$(seq 1 300); do echo \"tick line number \$i\"; sleep 0.01; done; sleep 60" "$BACKEND" \
  'max_output_size = "1K"' 'output_files_kept = 2'
apart ticks.toml
run 0 load ticks.toml
run 0 start ticks
wait_for 10 grep -qx ready "$SPMI_PATH/ticks/stdout" || fail "ticks did not start"
# With -n 1 the follower prints `ready` once it has the file open at its end: then the ticks begin (a
# fixed pause was too short for a sanitized build's start-up).
: >"$T/follow"
"$SPMI" logs ticks -f -n 1 >"$T/follow" 2>"$T/follow.err" &
follower=$!
wait_for 30 grep -qx ready "$T/follow" || { kill $follower; fail "logs -f -n 1 did not print the last line"; }
touch "$T/go"
wait_for 30 grep -qx "tick line number 300" "$T/follow" || { kill $follower; fail "logs -f did not reach the last line: $(tail -2 "$T/follow")"; }
kill -INT $follower
rc=0; wait $follower || rc=$?
[ "$rc" = 0 ] || fail "logs -f exited $rc on SIGINT"
ticks() { echo ready; seq 1 300 | sed 's/^/tick line number /'; }
ticks | cmp -s - "$T/follow" || fail "logs -f missed or repeated lines: $(diff <(ticks) "$T/follow" | head -5)"
[ -e "$SPMI_PATH/ticks/stdout.2" ] || fail "ticks rotated fewer than 2 times"
pass "logs -f follows the wrapper's rotations; every line once, in order"
run 0 stop ticks

# A file truncated in place (`truncate -s 0`, logrotate's copytruncate) is read again from its start by
# both followers: what the task writes after the cut is shorter than what they had read, so a follower
# that kept its old offset would wait for the file to grow past it and show nothing.
task_toml trunc.toml trunc "printf '%0600d\\n' 0; echo ready; while [ ! -e '$T/cut' ]; do sleep 0.05; done; echo 'after the cut'; sleep 60" "$BACKEND" \
  'max_output_size = 0'
run 0 load trunc.toml
run 0 start trunc
wait_for 10 grep -qx ready "$SPMI_PATH/trunc/stdout" || fail "trunc did not start"
"$SPMI" logs trunc -f -n 1 >"$T/trunc.logs" 2>&1 &
logs_pid=$!
{ sleep 15; } | "$SPMI" connect trunc >"$T/trunc.connect" 2>&1 &
connect_pid=$!
wait_for 10 grep -qx ready "$T/trunc.logs" || fail "logs -f did not start: $(cat "$T/trunc.logs")"
wait_for 10 grep -qx ready "$T/trunc.connect" || fail "connect did not start: $(cat "$T/trunc.connect")"
truncate -s 0 "$SPMI_PATH/trunc/stdout"
touch "$T/cut"
wait_for 10 grep -qx "after the cut" "$T/trunc.logs" || fail "logs -f lost the truncated file: $(tail -2 "$T/trunc.logs")"
wait_for 10 grep -qx "after the cut" "$T/trunc.connect" || fail "connect lost the truncated file: $(tail -2 "$T/trunc.connect")"
kill -INT $logs_pid; kill -INT $connect_pid
wait $logs_pid $connect_pid 2>/dev/null || true
pass "logs -f and connect read a truncated file again from its start"
run 0 stop trunc
echo "output_rotation ($BACKEND): all passed"
