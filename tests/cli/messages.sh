#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Messages that help (local backend; messages_screen.sh: screen): a glob where a regular expression is
# expected gets the regex it meant; an unknown command the nearest one; `logs --stderr` of a task with
# mixed_stdout shows its one file and says so; `logs`/`connect` given a pattern say that they take one
# ID and which IDs it matches. Each names the ID or pattern and says what to do.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

task_toml web-1.toml web-1 "echo to-stdout; echo to-stderr >&2; exec sleep 1701.$TAG" "$BACKEND"
{
  printf '[task]\nid = "split"\n[task.backend]\ntype = "%s"\n' "$BACKEND"
  printf '[task.wrapper]\ntype = "default"\ncommand = "echo out-line; echo err-line >&2; exec sleep 1702.%s"\n' "$TAG"
} >split.toml
run 0 load web-1.toml split.toml
run 0 start web-1 split
wait_for 10 grep -q to-stderr "$SPMI_PATH/web-1/stdout" || fail "web-1 wrote nothing"
wait_for 10 grep -q err-line "$SPMI_PATH/split/stderr" || fail "split wrote no stderr"

# Patterns are regular expressions: a glob gets the regex it probably meant.
regex_note="patterns are RE2 regular expressions matched against the whole ID, not globs (see PATTERNS in \`man spmi\`)"
run 2 start '*'
err_has "invalid pattern '*': nothing to repeat at '*'; $regex_note: did you mean '.*'?"
run 2 status '?eb-1'
err_has "invalid pattern '?eb-1': nothing to repeat at '?'; $regex_note: did you mean '.eb-1'?"
run 1 status 'web*'
err_has "no loaded manageable matches 'web*' (see \`spmi list\`); patterns are regular expressions, not globs: did you mean 'web.*'?"
run 1 stop 'zzz*'
err_has "no loaded manageable matches 'zzz*' (see \`spmi list\`)"
grep -qF "did you mean" "$T/err" && fail "a suggestion that matches nothing: $(cat "$T/err")"
pass "globs get the regular expression they meant"

# An unknown command: the nearest one, never the internal __run.
run 2 stat web-1
err_has "unknown command 'stat'; did you mean 'status'? (\`spmi --help\` lists the commands)"
run 2 lsit
err_has "unknown command 'lsit'; did you mean 'list'?"
run 2 __rn x y
grep -qF "__run" "$T/err" && fail "the internal command was suggested: $(cat "$T/err")"
err_has "unknown command '__rn' (\`spmi --help\` lists the commands)"
run 2 frobnicate
err_has "unknown command 'frobnicate' (\`spmi --help\` lists the commands)"
run 2 status --frob web-1
err_lacks() { ! grep -qF -- "$1" "$T/err" || fail "stderr has: $1"; }
err_lacks "unknown command"
pass "unknown commands get the nearest command"

# logs --stderr of a mixed_stdout task: its one file, with a note naming the ID and what to do.
run 0 logs --stderr web-1
out_has "to-stdout"
out_has "to-stderr"
err_has "manageable 'web-1' writes its stderr into its stdout (mixed_stdout), one file: showing that; \`spmi logs web-1\` shows the same"
run 0 logs --stderr split
out_has "err-line"
out_lacks "out-line"
err_lacks "mixed_stdout"
pass "logs --stderr of a mixed task shows its one file and says so"

# logs takes patterns (the lines after each ID); connect takes one ID: a pattern is named as such.
run 0 logs 'web.*'
out_has "web-1 | "
run 1 logs 'db.*'
err_has "no loaded manageable matches 'db.*' (see \`spmi list\`)"
run 2 logs '*'
err_has "did you mean '.*'?"
run 1 logs web1
err_has "no manageable 'web1' is loaded; did you mean 'web-1'? (see \`spmi list\`)"
run 1 connect 'web.*'
err_has "'web.*' is a pattern; \`spmi connect\` takes one ID: the pattern matches 'web-1'; run \`spmi connect web-1\`"
run 1 connect 'db.*'
err_has "no manageable 'db.*' is loaded (see \`spmi list\`); \`spmi connect\` takes one ID, not a pattern"
pass "logs given a pattern shows what it matches; connect says it takes one ID"
run 0 stop web-1 split
echo "messages ($BACKEND): all passed"
