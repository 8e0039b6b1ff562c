#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `spmi run` (local backend; run_screen.sh: screen): loads and starts a task from a command line in one
# call. Detached (-d) it prints the ID and returns; attached it follows the output and exits with the
# task's status. Arguments reach the program exactly as given (spaces, quotes, $, ;, empty ones); a
# generated ID is the program's name and the lowest free number; the task is an ordinary manageable
# (status, logs, stop, restart), `reload` refuses it clearly; a taken ID, a bad ID, an unknown backend
# type and a bad restart policy are refused with nothing loaded; `spmi -d run` is still --debug.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

# A program that prints each argument on a line of its own, between < and >.
cat >"$T/args.sh" <<'SH'
#!/bin/sh
for a in "$@"; do printf '<%s>\n' "$a"; done
SH
chmod +x "$T/args.sh"

run 0 run --backend "$BACKEND" --id exact -- "$T/args.sh" 'a b' '"q"' "it's" '$HOME' 'x; echo injected' '' '*' '\n'
[ "$(cat "$T/out" | head -1)" = "exact" ] || fail "the ID is not the first line of stdout"
cat >"$T/want" <<'W'
<a b>
<"q">
<it's>
<$HOME>
<x; echo injected>
<>
<*>
<\n>
W
tail -n +2 "$T/out" >"$T/got"
diff "$T/want" "$T/got" >&2 || fail "the arguments did not arrive as given"
err_has 'Manageable "exact" ended'
pass "attached: the ID, then the output; every argument arrives as given (spaces, quotes, \$, ;, empty, *)"

run 7 run --backend "$BACKEND" --id seven -- sh -c 'echo out; echo err >&2; exit 7'
out_has out
err_has err
err_has 'ended with exit status 7'
pass "attached: stdout and stderr followed, the exit status is the task's (7)"

run 0 run --backend "$BACKEND" -d -- sleep "1701.$TAG"
[ "$(cat "$T/out")" = "sleep-1" ] || fail "generated ID: expected sleep-1, got $(cat "$T/out")"
is_active sleep-1 || fail "sleep-1 is not active after run -d"
run 0 run --backend "$BACKEND" --detach -- /bin/sleep "1702.$TAG"
[ "$(cat "$T/out")" = "sleep-2" ] || fail "second generated ID: expected sleep-2, got $(cat "$T/out")"
pass "detached: prints the generated ID (sleep-1, then sleep-2) and returns with the task running"

run 0 status sleep-1
out_has "sleep 1701.$TAG"
out_has "Backend type: $BACKEND"
run 0 stop sleep-1
is_inactive sleep-1 || fail "sleep-1 still active after stop"
run 0 restart sleep-1
is_active sleep-1 || fail "sleep-1 not active after restart"
run 1 reload sleep-1
err_has "manageable 'sleep-1' was made by \`spmi run\`: it has no descriptor file to read again"
err_has "nothing was reloaded"
pass "a run-made task is an ordinary manageable (status, stop, restart); reload refuses it, saying why"

run 1 run --backend "$BACKEND" --id sleep-1 -- true
err_has "manageable 'sleep-1' is already loaded"
is_active sleep-1 || fail "the refused run changed sleep-1"
run 2 run --backend "$BACKEND" --id '-bad' -- true
err_has "is not a valid ID"
run 3 run --backend locl --id typo -- true
err_has "did you mean 'local'"
run 2 run --backend "$BACKEND" --restart sometimes --id r -- true
run 0 list
out_lacks typo
pass "a taken ID, a bad ID, an unknown backend (did you mean) and a bad policy are refused, nothing loaded"

run 0 run --backend "$BACKEND" -d --restart on-failure --cwd "$T" --id policy -- sh -c 'pwd; exit 3'
restarted() { "$SPMI" status policy 2>&1 | grep -q 'Restarts: [1-9]'; }
wait_for 10 restarted || fail "--restart on-failure did not restart"
run 0 logs policy
out_has "$T"
run 0 stop policy
pass "--restart and --cwd reach the task"

run 0 -d run --backend "$BACKEND" -d --id debugged -- true
err_has "DEBUG"
[ "$(cat "$T/out")" = "debugged" ] || fail "spmi -d run -d: expected the ID on stdout"
pass "spmi -d run ... is --debug; run -d is --detach"

# Ctrl-C while attached stops following and leaves the task running.
: >"$T/out"  # now, not only by the background child, whose redirection may come after the wait below looks
"$SPMI" run --backend "$BACKEND" --id follow -- sh -c "echo started; exec sleep 1703.$TAG" >"$T/out" 2>"$T/err" &
pid=$!
wait_for 10 grep -q started "$T/out" || fail "attached run printed nothing"
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 130 ] || fail "attached run ended by SIGINT exited $rc, expected 130"
err_has 'Stopped following "follow"; it goes on running'
is_active follow || fail "the task did not go on running after Ctrl-C"
pass "Ctrl-C stops following (exit 130), says so, and leaves the task running"

if command -v screen >/dev/null 2>&1; then
  run 0 run -d --id default-backend -- true
  run 0 status default-backend
  out_has "Backend type: screen"
  pass "the default backend is screen, the guide's"
fi
