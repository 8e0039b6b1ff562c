#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The guide's walk-through on the tmux backend: one detached session per task on spmi's own tmux
# socket (tmux -L spmi), Backend ID = the pane's pid = the wrapper's; the default server is untouched.
source "$(dirname "$0")/common.sh"
need tmux

# A private tmux directory: this test's servers are its own (tests run in parallel, and the user's
# servers are never touched), and "the default server" below means the one a stray call would start.
export TMUX_TMPDIR="$T"
unset TMUX TMUX_PANE
tmux_cleanup() {
  "$SPMI" kill '.*' >/dev/null 2>&1 || true
  local socket session
  for socket in spmi tt_alt; do
    for session in $(tmux -L "$socket" list-sessions -F '#{session_name}' 2>/dev/null); do
      tmux -L "$socket" kill-session -t "=$session" 2>/dev/null || true
    done
    tmux -L "$socket" kill-server 2>/dev/null || true
  done
  cleanup
}
trap tmux_cleanup EXIT

ppid_of() { awk '/^PPid:/ { print $2 }' "/proc/$1/status"; }
wrapper_pid() { sed -n 's/.*"wrapper_pid":\([0-9]*\).*/\1/p' "$SPMI_PATH/$1/run.json"; }
has_session() { tmux -L spmi has-session -t "=$1" 2>/dev/null; }
no_session() { ! has_session "$1"; }

task_toml m1.toml tt_m1 'echo 1; sleep 300' tmux
task_toml m2.toml tt_m2 'echo 2; sleep 300' tmux
task_toml m3.toml tt_m3 'trap "echo caught INT; exit 5" INT; echo 3; while :; do sleep 0.1; done' tmux
task_toml echo.toml tt_echo 'echo ready; while read line; do echo "got $line"; done' tmux
task_toml other.toml tt_other 'echo other' tmux

# load, list
run 0 load m1.toml m2.toml m3.toml echo.toml other.toml
err_has "Loaded 5 manageables"
run 0 list
grep -qE '^tt_m2 +inactive +- +- +- +Comment of tt_m2$' "$T/out" || fail "list row"
pass "load, list"

# start by regex: the four long-running ones, not tt_other.
run 0 start 'tt_(m[1-3]|echo)'
err_has "Started 4 manageables"
run 0 list
grep -qE '^tt_m1 +active' "$T/out" || fail "tt_m1 not active"
grep -qE '^tt_other +inactive' "$T/out" || fail "tt_other must not have started"
pass "start by regex"

# status: Backend type tmux; Backend ID = the pane's pid = the wrapper = the parent of the task's PID.
wait_for 5 grep -qx 1 "$SPMI_PATH/tt_m1/stdout" || fail "no output from tt_m1"
run 0 status tt_m1
out_has "Backend type: tmux"
grep -qE '^Backend ID: [0-9]+$' "$T/out" || fail "Backend ID"
backend_id=$(sed -n 's/^Backend ID: //p' "$T/out")
pid=$(sed -n 's/^PID: //p' "$T/out")
has_session spmi_tt_m1 || fail "no tmux session spmi_tt_m1 on the spmi socket"
pane_pid=$(tmux -L spmi display-message -p -t "=spmi_tt_m1:" '#{pane_pid}')
[ "$backend_id" = "$pane_pid" ] || fail "Backend ID $backend_id is not the pane's pid $pane_pid"
[ "$backend_id" = "$(wrapper_pid tt_m1)" ] || fail "Backend ID $backend_id is not the wrapper's pid $(wrapper_pid tt_m1)"
[ "$(ppid_of "$pid")" = "$backend_id" ] || fail "the task $pid is not a child of the pane's process $backend_id"
tail -1 "$T/out" | grep -qx 1 || fail "last output line"
pass "status (Backend ID $backend_id, task $pid)"

# The user's default server is not touched: no server was started on the default socket.
! tmux list-sessions >/dev/null 2>&1 || fail "a tmux server runs on the default socket: $(tmux list-sessions)"
[ ! -e "$T/tmux-$(id -u)/default" ] || fail "a default tmux socket was created"
pass "default tmux server untouched"

# The task runs in the directory and with the environment of its `spmi load`, not of its `spmi start`,
# also when the tmux server was started by an earlier one.
task_toml env.toml tt_env 'echo "dir=$(pwd) mark=$TT_MARK"; sleep 300' tmux
mkdir -p "$T/elsewhere"
(cd "$T/elsewhere" && TT_MARK='a b;c' "$SPMI" load "$T/env.toml" >/dev/null 2>&1) || fail "load tt_env"
TT_MARK=start run 0 start tt_env
wait_for 5 grep -q "^dir=" "$SPMI_PATH/tt_env/stdout" || fail "tt_env printed nothing"
grep -qxF "dir=$T/elsewhere mark=a b;c" "$SPMI_PATH/tt_env/stdout" || fail "tt_env: $(cat "$SPMI_PATH/tt_env/stdout")"
run 0 kill tt_env
pass "directory and environment of the load"

# Arguments reach the wrapper as they are: tmux splits its argv into commands at an argument ending in
# ';' and expands #{...} in some places. A state directory and an spmi binary named like that work.
odd="$T/odd #{pane_pid} \$HOME"
mkdir -p "$odd/bin"
cp "$SPMI" "$odd/bin/spmi;"
ln -s "$(cd "$(dirname "$SPMI")/../lib" && pwd)" "$odd/lib"
task_toml odd.toml tt_odd 'echo odd; sleep 300' tmux
SPMI="$odd/bin/spmi;" SPMI_PATH="$odd/state;" run 0 load odd.toml
SPMI="$odd/bin/spmi;" SPMI_PATH="$odd/state;" run 0 start tt_odd
wait_for 5 grep -qx odd "$odd/state;/tt_odd/stdout" || fail "tt_odd did not run"
SPMI_PATH="$odd/state;" run 0 kill tt_odd
pass "odd paths"

# connect with piped input.
wait_for 5 grep -qx ready "$SPMI_PATH/tt_echo/stdout" || fail "tt_echo did not start"
rc=0
printf 'hello\nworld\n' | timeout 20 "$SPMI" connect tt_echo >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 0 ] || fail "connect exited $rc"
out_has "got hello"
out_has "got world"
is_active tt_echo || fail "connect must not end the task"
pass connect

# stop: SIGINT reaches the task (its handler runs), a plain task ends by it, and the session goes.
wait_for 5 grep -qx 3 "$SPMI_PATH/tt_m3/stdout" || fail "tt_m3 did not start"
run 0 stop tt_m3
run 0 status tt_m3
out_has "caught INT"
out_has "Exit code: 5"
run 0 stop tt_m1
run 0 status tt_m1
out_has "Exit code: 130 (killed by SIGINT)"
! kill -0 "$pid" 2>/dev/null || fail "task $pid still running after stop"
wait_for 5 no_session spmi_tt_m1 || fail "tmux session spmi_tt_m1 left after stop"
pass stop

# kill
run 0 kill tt_m2
run 0 status tt_m2
out_has "Exit code: 137 (killed by SIGKILL)"
wait_for 5 no_session spmi_tt_m2 || fail "tmux session spmi_tt_m2 left after kill"
run 0 kill tt_echo
pass kill

# clean
run 0 start tt_other
wait_for 5 is_inactive tt_other || fail "tt_other did not finish"
wait_for 5 no_session spmi_tt_other || fail "tmux session spmi_tt_other left after its task ended"
run 0 status tt_other
out_has "Exit code: 0"
run 0 clean 'tt_.*'
err_has "Cleaned 6 manageables"
left=$(ls -A "$SPMI_PATH" | grep -vx '.store.lock' || true)  # the store's own lock file stays
[ -z "$left" ] || fail "state left after clean: $left"
pass clean

# IDs that map to one session name (tmux turns '.' into '_'): the second takes the next free name.
task_toml d1.toml tt_a.b 'sleep 300' tmux
task_toml d2.toml tt_a_b 'sleep 300' tmux
run 0 load d1.toml d2.toml
run 0 start 'tt_a\.b' tt_a_b
err_has "Started 2 manageables"
err_has "a tmux session 'spmi_tt_a_b' exists already; this task runs in session 'spmi_tt_a_b-2'"
has_session spmi_tt_a_b && has_session spmi_tt_a_b-2 || fail "expected sessions spmi_tt_a_b and spmi_tt_a_b-2"
run 0 kill 'tt_a\.b' tt_a_b
pass "session name taken"

# The socket key: another socket of spmi's; a bad name is a descriptor error.
task_toml alt.toml tt_alt 'sleep 300' tmux
sed -i 's/^type = "tmux"$/type = "tmux"\nsocket = "tt_alt"/' alt.toml
run 0 load alt.toml
run 0 start tt_alt
tmux -L tt_alt has-session -t =spmi_tt_alt 2>/dev/null || fail "no session spmi_tt_alt on socket tt_alt"
no_session spmi_tt_alt || fail "tt_alt runs on the spmi socket"
run 0 kill tt_alt
task_toml badsock.toml tt_badsock 'true' tmux
sed -i 's|^type = "tmux"$|type = "tmux"\nsocket = "../x"|' badsock.toml
run 3 load badsock.toml
err_has "badsock.toml: task.backend.socket: '../x' is not a valid tmux socket name"
sed -i 's|^socket = .*|socket = ".."|' badsock.toml
run 3 load badsock.toml
err_has "badsock.toml: task.backend.socket: '..' is not a valid tmux socket name"
pass "socket key"

# Refused: tmux not in PATH. start exits 1 with what to do; nothing is half-registered.
task_toml np.toml tt_nopath 'sleep 300' tmux
run 0 load np.toml
PATH=/nonexistent run 1 start tt_nopath
err_has "backend 'tmux': tmux not found in PATH; install tmux (apt-get install tmux) or use another backend type"
err_has "Started 0 manageables"
run 0 status tt_nopath
out_has "Active: inactive"
out_has "Backend ID: -"
out_has "PID: -"
[ ! -e "$SPMI_PATH/tt_nopath/launch.json" ] && [ ! -e "$SPMI_PATH/tt_nopath/run.json" ] || fail "a launch was recorded"
no_session spmi_tt_nopath || fail "a session was made"
pass "tmux missing"

# Refused: tmux fails (its socket directory is a file); tmux's message is shown.
mkdir "$T/badtmp"
touch "$T/badtmp/tmux-$(id -u)"
TMUX_TMPDIR="$T/badtmp" run 1 start tt_nopath
err_has "backend 'tmux': tmux new-session exited with status 1: $T/badtmp/tmux-$(id -u) is not a directory"
run 0 status tt_nopath
out_has "Active: inactive"
out_has "Backend ID: -"
pass "tmux fails"

# A start in the instant the server exits (its last session just ended) is asked again, not failed with
# tmux's "server exited unexpectedly": on a socket of its own, each task ends at once, so every start
# finds a server that is going away. Without the retry, about 1 start in 10 failed here.
racesock="tt_race_$TAG"
for i in $(seq 1 30); do
  printf '[task]\nid = "tt_race%s"\n[task.backend]\ntype = "tmux"\nsocket = "%s"\n[task.wrapper]\ntype = "default"\ncommand = "true"\n' \
    "$i" "$racesock" >race$i.toml
done
run 0 load race*.toml
for i in $(seq 1 30); do
  run 0 start "tt_race$i"
done
tmux -L "$racesock" kill-server 2>/dev/null || true
pass "30 starts, each as the previous task's session ends: none fails"
echo "backend_tmux: all passed"
