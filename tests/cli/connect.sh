#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# connect: shows the task's output and forwards piped input to its stdin, live.
source "$(dirname "$0")/common.sh"
need screen

task_toml echo.toml echoer 'echo ready; while read line; do echo "got $line"; done'
run 0 load echo.toml
run 0 start echoer
wait_for 5 grep -qx ready "$SPMI_PATH/echoer/stdout" || fail "task did not start"

# Piped input reaches the task; connect prints the old and the new output and ends after stdin.
rc=0
printf 'hello\nworld\n' | timeout 20 "$SPMI" connect echoer >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 0 ] || fail "connect exited $rc"
out_has "ready"
out_has "got hello"
out_has "got world"
pass "piped input"

# A second connection sees the earlier lines and adds its own.
rc=0
echo again | timeout 20 "$SPMI" connect echoer >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 0 ] || fail "second connect exited $rc"
out_has "got again"
is_active echoer || fail "connect must not end the task"
pass "reconnect"

# Interactive use under a terminal (tmux gives it one): typed lines go to the task; Ctrl-C detaches.
if command -v tmux >/dev/null; then
  sock="$T/tmux.sock"
  tmux -S "$sock" new-session -d -x 120 -y 30 "env SPMI_PATH='$SPMI_PATH' '$SPMI' connect echoer; echo CONNECT-EXIT=\$?; sleep 30"
  wait_for 5 sh -c "tmux -S '$sock' capture-pane -p | grep -q 'Ctrl-C detaches'" || fail "no connect banner: $(tmux -S "$sock" capture-pane -p)"
  tmux -S "$sock" send-keys "typed line" Enter
  wait_for 5 sh -c "tmux -S '$sock' capture-pane -p | grep -q 'got typed line'" || fail "typed line not echoed: $(tmux -S "$sock" capture-pane -p)"
  tmux -S "$sock" send-keys C-c
  wait_for 5 sh -c "tmux -S '$sock' capture-pane -p | grep -q 'CONNECT-EXIT=0'" || fail "Ctrl-C did not detach: $(tmux -S "$sock" capture-pane -p)"
  tmux -S "$sock" kill-server
  is_active echoer || fail "detaching must not end the task"
  pass "interactive"
fi

# connect ends when the task ends.
task_toml brief.toml brief 'echo bye; sleep 1'
run 0 load brief.toml
run 0 start brief
rc=0
timeout 20 "$SPMI" connect brief >"$T/out" 2>"$T/err" < <(sleep 15) || rc=$?
[ "$rc" = 0 ] || fail "connect to an ending task exited $rc"
out_has "bye"
err_has "Manageable \"brief\" ended"
pass "task ends"
echo "connect: all passed"
