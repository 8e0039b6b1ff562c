#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `spmi top` driven through tmux as a user would: the table and its states, CPU% over the interval (a
# burner high, a sleeper near 0), sorting by CPU, stop after a y/N question (n does nothing), the logs
# view, q and Ctrl-C exiting 0 with the terminal restored, a resize, and a closed pane ending it.
# Also: no terminal is an error (exit 2), -b prints the table.
source "$(dirname "$0")/common.sh"
need tmux

SOCKET="spmi-top-test-$TAG"  # our own tmux server: never another test's or the user's
tm() { tmux -L "$SOCKET" "$@"; }
cleanup_top() { tm kill-server 2>/dev/null || true; cleanup; }
trap cleanup_top EXIT

screen_text() { tm capture-pane -p -t "$1"; }
screen_has() { screen_text "$1" | grep -qF -- "$2"; }
# The CPU% column (the 4th) of ID's row on window $1.
cpu_of() { screen_text "$1" | awk -v id="$2" '$1 == id { print $4 }'; }
# Busy: near 100 on an idle machine; a loaded one (other tests) gives it less, but far more than a sleeper.
burner_busy() { local cpu; cpu=$(cpu_of main top_burn); [ -n "$cpu" ] && [ "$cpu" != - ] && awk -v c="$cpu" 'BEGIN { exit !(c > 5) }'; }
first_row_is() { [ "$(screen_text main | sed -n 3p | awk '{ print $1 }')" = "$1" ]; }
dump() { echo "--- screen"; screen_text main; } >&2

task_toml burn.toml top_burn 'while :; do :; done' local
task_toml idle.toml top_idle "sleep 1101.$TAG" local
task_toml talk.toml top_talk 'for i in $(seq 1 40); do echo "line $i of talk"; done; sleep 1102.'"$TAG" local
task_toml off.toml top_off 'echo off' local
run 0 load burn.toml idle.toml talk.toml off.toml
run 0 start top_burn top_idle top_talk

# Without a terminal: an error saying what to do; -b prints the table (as top -b).
run 2 top
err_has "spmi top needs a terminal"
err_has "spmi top -b"
run 0 top -b -i 0.5
out_has "4 manageables: 3 active, 1 inactive"
grep -qE '^top_off +inactive' "$T/out" || fail "batch row of top_off"
grep -qE '^top_idle +active +[0-9]+ ' "$T/out" || fail "batch row of top_idle"
run 0 top -b -o CPU -i 0.5 'top_.*'
[ "$(sed -n 3p "$T/out" | awk '{ print $1 }')" = top_burn ] || fail "-o cpu: the burner first"
run 2 top -b -o speed
err_has "--sort: speed not in {id,state,cpu,mem,uptime,restarts}"
pass "no terminal: exit 2; -b prints the table, -o sorts it"

# A shell in a tmux pane, as a user's terminal; spmi top in it.
tm new-session -d -s main -x 150 -y 30 "env -i PATH=$PATH HOME=$HOME TERM=tmux-256color SPMI_PATH=$SPMI_PATH bash --norc --noprofile"
tm send-keys -t main "PS1='prompt\$ '; stty -g > $T/stty.before" Enter
tm send-keys -t main "$SPMI top -i 1; echo EXIT=\$?" Enter
wait_for 10 screen_has main "4 manageables: 3 active, 1 inactive" || { dump; fail "top header"; }
screen_text main | grep -qE '^top_off +inactive' || { dump; fail "top_off row"; }
screen_text main | grep -qE '^top_talk +active' || { dump; fail "top_talk row"; }
screen_has main "s stop" || { dump; fail "help line"; }
pass "the table shows the loaded tasks and their states"

# CPU% over the interval: the burner near 100, the sleeper at about 0.
wait_for 10 burner_busy || { dump; fail "burner CPU% not high"; }
idle=$(cpu_of main top_idle)
awk -v c="$idle" 'BEGIN { exit !(c < 1) }' || { dump; fail "sleeper CPU% $idle"; }
pass "CPU% over the interval: burner $(cpu_of main top_burn), sleeper $idle"

tm send-keys -t main n  # by ID: top_burn top_idle top_off top_talk
wait_for 5 first_row_is top_burn || { dump; fail "sorted by ID"; }
tm send-keys -t main I
wait_for 5 first_row_is top_talk || { dump; fail "inverted"; }
tm send-keys -t main I c
wait_for 5 first_row_is top_burn || { dump; fail "sorted by CPU"; }
screen_has main "sorted by CPU%" || { dump; fail "header names the order"; }
pass "sorting by CPU puts the burner first"

# Select top_idle (by ID, second) and stop it: asked first; n does nothing, y stops.
tm send-keys -t main n Home j s
wait_for 5 screen_has main "Stop top_idle? [y/N]" || { dump; fail "stop question"; }
tm send-keys -t main n
wait_for 5 screen_has main "Nothing done to top_idle" || { dump; fail "n at the question"; }
is_active top_idle || fail "n stopped top_idle"
tm send-keys -t main s
wait_for 5 screen_has main "Stop top_idle? [y/N]" || { dump; fail "stop question again"; }
tm send-keys -t main y
wait_for 15 screen_has main "Stopped top_idle" || { dump; fail "stop outcome"; }
is_inactive top_idle || fail "top_idle not stopped"
screen_text main | grep -qE '^top_idle +inactive' || { dump; fail "row of stopped top_idle"; }
is_active top_burn || fail "another task was stopped"
pass "stop asks, n does nothing, y stops the selected task"

# Logs of the selected task (top_talk: last by ID), then back.
tm send-keys -t main End l
wait_for 5 screen_has main "Last lines of top_talk's output" || { dump; fail "logs view"; }
screen_has main "line 40 of talk" || { dump; fail "last line in the logs view"; }
screen_has main "line 12 of talk" || { dump; fail "earlier lines in the logs view"; }
tm send-keys -t main Escape
wait_for 5 screen_has main "RESTARTS" || { dump; fail "back from logs"; }
pass "logs view shows the last lines; Esc returns"

# Changes made elsewhere show at the next refresh: a start, and a wrapper killed outright (no file
# changes then: the alive lock tells).
run 0 start top_idle
wait_for 10 bash -c "tmux -L '$SOCKET' capture-pane -p -t main | grep -qE '^top_idle +active'" || { dump; fail "outside start"; }
wrapper=$(sed -n 's/.*"wrapper_pid":\([0-9]*\).*/\1/p' "$SPMI_PATH/top_idle/run.json")
kill -9 "$wrapper"
wait_for 10 bash -c "tmux -L '$SOCKET' capture-pane -p -t main | grep -qE '^top_idle +inactive'" || { dump; fail "killed wrapper"; }
pass "a start and a killed wrapper elsewhere show at the next refresh"

# Restart of an inactive one starts it; kill ends it; both asked first.
tm send-keys -t main n Home j r
wait_for 5 screen_has main "Restart top_idle? [y/N]" || { dump; fail "restart question"; }
tm send-keys -t main y
wait_for 15 screen_has main "Started top_idle" || { dump; fail "restart outcome"; }
is_active top_idle || fail "top_idle not started"
tm send-keys -t main x
wait_for 5 screen_has main "Kill top_idle? [y/N]" || { dump; fail "kill question"; }
tm send-keys -t main y
wait_for 15 screen_has main "Killed top_idle" || { dump; fail "kill outcome"; }
is_inactive top_idle || fail "top_idle not killed"
pass "restart starts an inactive one, kill kills, each after a question"

# A resize redraws for the new size: the help line is on the last row.
tm resize-window -t main -x 100 -y 15
wait_for 5 bash -c "tmux -L '$SOCKET' capture-pane -p -t main | sed -n 15p | grep -qF 's stop'" || { dump; fail "resize"; }
pass "resize"

tm send-keys -t main q
wait_for 5 screen_has main "EXIT=0" || { dump; fail "q did not exit 0"; }
tm send-keys -t main "stty -g > $T/stty.after" Enter
wait_for 5 test -s "$T/stty.after" || fail "stty after"
sleep 0.2
cmp -s "$T/stty.before" "$T/stty.after" || { diff "$T/stty.before" "$T/stty.after" >&2; fail "terminal modes not restored"; }
screen_has main "prompt\$ $SPMI top -i 1" || { dump; fail "the screen before top is not back (alternate screen)"; }
pass "q exits 0 and restores the terminal"

tm send-keys -t main "clear; $SPMI top top_burn; echo EXIT=\$?" Enter
wait_for 10 screen_has main "1 manageable: 1 active" || { dump; fail "top with a pattern"; }
tm send-keys -t main C-c
wait_for 5 screen_has main "EXIT=0" || { dump; fail "Ctrl-C did not exit 0"; }
pass "a pattern selects; Ctrl-C exits 0"

# A closed terminal (the pane killed: SIGHUP) ends spmi top: no process left behind.
tm new-window -d -t main -n second "env SPMI_PATH=$SPMI_PATH $SPMI top"
pid=$(tm display-message -p -t main:second '#{pane_pid}')
wait_for 10 screen_has main:second "manageables" || fail "second top"
tm kill-window -t main:second
gone() { ! kill -0 "$pid" 2>/dev/null; }
wait_for 5 gone || fail "spmi top $pid outlived its closed terminal"
pass "a closed terminal ends spmi top"
