#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A full disk (issue #13): $SPMI_PATH on a 1 MiB tmpfs that the task's output fills. The wrapper keeps
# supervising (output dropped, run.json not written), `status` says the disk is full rather than that
# the wrapper was killed, and `stop` still ends the task, with nothing left running; on screen, tmux and
# the local backend. Needs root (mount).
source "$(dirname "$0")/common.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: mounting a tmpfs needs root"; exit 77; }
mkdir "$T/full"
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$T/full" || { echo "SKIP: cannot mount a tmpfs"; exit 77; }
cleanup_full() {
  "$SPMI" kill '.*' >/dev/null 2>&1 || true
  umount -l "$T/full" || true
  cleanup
}
trap cleanup_full EXIT
export SPMI_PATH="$T/full/state"

is_full() { [ $(($(stat -f -c '%a * %S' "$SPMI_PATH"))) -lt 65536 ]; }
left() { pgrep -f "^sleep 13[0-9][0-9]\.$TAG\$" || true; }
note_of() { "$SPMI" status "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["manageables"][0]["note"])'; }
# free_up ID: the output of an ended task is deleted, so the next one has room.
free_up() { rm -f "$SPMI_PATH/$1"/stdout*; is_full && fail "still full after deleting $1's output: $(df "$SPMI_PATH")"; true; }

backends=()
for b in screen tmux local; do
  if [ "$b" = local ] || command -v "$b" >/dev/null 2>&1; then backends+=("$b"); else echo "skip: $b is not installed"; fi
done
# About 1 MB/s of output, and a marked process that the end must take along.
writer="sleep 1301.$TAG & while :; do seq 1 2000; sleep 0.01; done"
for b in "${backends[@]}"; do task_toml "$b.toml" "fill_$b" "$writer" "$b"; done
# A task that fills the disk and is restarted: the run.json written before each backoff fails.
task_toml again.toml again "echo run >> $T/runs; seq 1 200000; sleep 1302.$TAG & sleep 0.2" local \
  'restart = "always"' 'restart_delay = 0.1' 'restart_delay_max = 0.2' 'max_restarts = 1000'
run 0 load "${backends[@]/%/.toml}" again.toml

for b in "${backends[@]}"; do
  id=fill_$b
  run 0 start "$id"
  wait_for 20 is_full || fail "$id: the file system never filled: $(df "$SPMI_PATH")"
  sleep 1  # output keeps coming and is dropped
  is_active "$id" || fail "$id: the wrapper ended when the disk filled: $(cat "$SPMI_PATH/$id/wrapper.log" 2>/dev/null)"
  [ -n "$(left)" ] || fail "$id: the task's processes are gone"
  run 0 status "$id"
  out_has "Active: active"
  out_has "Note: the file system holding $SPMI_PATH/$id is full ("
  out_has "the task's output is being dropped and its state can't be recorded; free some space"
  note_of "$id" | grep -q "is full" || fail "$id: status --json note: $(note_of "$id")"
  pass "$b: the disk filled; the wrapper supervises on and status says the disk is full"

  # stop can't record that the task is wanted down: it says so and ends the task all the same.
  run 0 stop "$id"
  err_has "the file system holding $SPMI_PATH/$id is full"
  err_has "Stopped 1 manageables"
  wait_for 10 is_inactive "$id" || fail "$id still active after stop"
  [ -z "$(left)" ] || fail "$id: processes left after stop: $(left)"
  run 0 status "$id"
  out_has "Active: inactive"
  out_has "Note: the wrapper ended without recording how the task ended, as the file system holding $SPMI_PATH/$id is full ("
  out_lacks "was it killed"
  pass "$b: stop ends the task on a full disk, and status explains the missing record"
  # start refuses at once: its wrapper could not record the task, which start waits for.
  run 5 start "$id"
  err_has "manageable '$id': the file system holding $SPMI_PATH/$id is full ("
  err_has "free some space, then start it"
  is_inactive "$id" || fail "$id: active after a refused start"
  [ -z "$(left)" ] || fail "$id: processes left after a refused start: $(left)"
  pass "$b: start on a full disk fails at once, running nothing"
  free_up "$id"
done

# Restarts go on while run.json can't be written.
run 0 start again
wait_for 20 is_full || fail "again: the file system never filled"
runs=$(wc -l <"$T/runs")
wait_for 20 sh -c "[ \$(wc -l <'$T/runs') -ge $((runs + 3)) ]" || fail "again: no restarts on a full disk ($(wc -l <"$T/runs") runs)"
is_active again || fail "again: the wrapper ended"
run 0 status again
out_has "is full ("
run 0 stop again
wait_for 10 is_inactive again || fail "again still active after stop"
[ -z "$(left)" ] || fail "again: processes left after stop: $(left)"
pass "restarts go on while the disk is full; stop ends them"
free_up again
echo "disk_full: all passed"
