#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A simple command runs without a shell in between (as supervisord and s6 run theirs): its process is
# the wrapper's own child, with the environment and working directory /bin/sh would have given it;
# anything that needs a shell (operators, variables, builtins, a program that is not found) still goes
# through `/bin/sh -c` and behaves as before.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)["manageables"][0][sys.argv[1]])' "$1"; }

# A simple command: the wrapper's direct child, no sh anywhere in the run.
task_toml simple.toml simple "sleep 1101.$TAG" "$BACKEND"
task_toml shell.toml shell "sleep 1102.$TAG; true" "$BACKEND"
run 0 load simple.toml shell.toml
run 0 start simple shell
run 0 status --json simple
pid=$(json_field pid <"$T/out") wrapper=$(json_field wrapper_pid <"$T/out")
[ "$(cat "/proc/$pid/comm")" = sleep ] || fail "simple: the main process is $(cat "/proc/$pid/comm"), not sleep"
[ "$(awk '{print $4}' "/proc/$pid/stat")" = "$wrapper" ] || fail "simple: sleep is not the wrapper's child"
[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "sleep 1101.$TAG " ] || fail "simple: argv $(tr '\0' ' ' <"/proc/$pid/cmdline")"
for child in $(pgrep -P "$wrapper"); do
  [ "$(cat "/proc/$child/comm")" != sh ] || fail "simple: a sh (pid $child) runs under the wrapper"
done
pass "a simple command is the wrapper's direct child, argv as written, no sh"
run 0 status --json shell
pid=$(json_field pid <"$T/out")
[ "$(cat "/proc/$pid/comm")" = sh ] || fail "shell: the main process is $(cat "/proc/$pid/comm"), not sh"
pgrep -P "$pid" -f "sleep 1102.$TAG" >/dev/null || fail "shell: sleep is not sh's child"
pass "a command with shell syntax runs under /bin/sh -c as before"
run 0 stop simple shell
run 0 status simple
out_has "killed by SIGINT"
pass "stop ends a direct command, its signal recorded"

# The same environment and working directory as through sh: a name sh would drop, PWD through a link.
mkdir -p "$T/real/work" && ln -s "$T/real" "$T/link"
for id in env_direct env_shell; do
  command="env"; [ "$id" = env_shell ] && command="env; true"
  task_toml "$T/real/$id.toml" "$id" "$command" "$BACKEND" 'cwd = "work"' 'env = { GREETING = "hi there" }'
done
task_toml "$T/real/cwd_direct.toml" cwd_direct "readlink /proc/self/cwd" "$BACKEND" 'cwd = "work"'
( cd "$T/link" && PWD="$T/link" env 'BAD-NAME=1' "$SPMI" load env_direct.toml env_shell.toml \
    cwd_direct.toml >/dev/null 2>&1 ) || fail "load from the link"
run 0 start env_direct env_shell cwd_direct
wait_for 10 grep -q GREETING "$SPMI_PATH/env_direct/stdout" || fail "env_direct printed nothing"
wait_for 10 grep -q GREETING "$SPMI_PATH/env_shell/stdout" || fail "env_shell printed nothing"
wait_for 10 test -s "$SPMI_PATH/cwd_direct/stdout" || fail "cwd_direct printed nothing"
strip() { grep -vE '^(SPMI_ID|SPMI_RUN_TOKEN)=' "$1" | sort; }
diff <(strip "$SPMI_PATH/env_shell/stdout") <(strip "$SPMI_PATH/env_direct/stdout") >"$T/env.diff" \
  || fail "the environments differ: $(cat "$T/env.diff")"
grep -qx "PWD=$T/real/work" "$SPMI_PATH/env_direct/stdout" || fail "PWD: $(grep ^PWD= "$SPMI_PATH/env_direct/stdout")"
grep -q '^BAD-NAME=' "$SPMI_PATH/env_direct/stdout" && fail "a name sh drops was passed on"
grep -qx "GREETING=hi there" "$SPMI_PATH/env_direct/stdout" || fail "env of the descriptor missing"
[ "$(cat "$SPMI_PATH/cwd_direct/stdout")" = "$T/real/work" ] || fail "cwd: $(cat "$SPMI_PATH/cwd_direct/stdout")"
pass "a direct command gets the environment and working directory sh would have given it"

# Quotes, and what only the shell says: a program not found, a script without "#!".
task_toml quoted.toml quoted "/usr/bin/printf '%s|' 'a  b' \"c d\" e'f'" "$BACKEND"
task_toml missing.toml missing "no-such-program-$TAG --flag" "$BACKEND"
printf 'echo "no shebang: $0"\n' >"$T/plain-script" && chmod +x "$T/plain-script"
task_toml script.toml script "$T/plain-script" "$BACKEND"
run 0 load quoted.toml missing.toml script.toml
run 0 start quoted missing script
wait_for 10 is_inactive quoted || fail "quoted did not end"
[ "$(cat "$SPMI_PATH/quoted/stdout")" = "a  b|c d|ef|" ] || fail "quoted: $(cat "$SPMI_PATH/quoted/stdout")"
wait_for 10 is_inactive missing || fail "missing did not end"
run 0 status missing
out_has "Exit code: 127"
grep -q "no-such-program-$TAG: not found" "$SPMI_PATH/missing/stdout" || fail "sh's message: $(cat "$SPMI_PATH/missing/stdout")"
wait_for 10 grep -q "no shebang: $T/plain-script" "$SPMI_PATH/script/stdout" || fail "script: $(cat "$SPMI_PATH/script/stdout")"
pass "quotes are removed; a missing program and a script without #! are the shell's, as before"
