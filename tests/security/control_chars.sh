#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack: a descriptor's comment or command drives the terminal of whoever runs `spmi list`/`status`:
# ESC sequences clear the screen or set the window title, a newline forges a row of the table, CR
# overwrites it, C1 CSI (U+009B, or a lone 0x9b byte) starts a sequence without ESC. These are now
# shown escaped (\x1b, \n, \r, \x7f, \u009b, \x9b), valid UTF-8 text as it is; IDs can't hold them.
source "$(dirname "$0")/common.sh"
need python3

# raw_free FILE WHAT: FILE holds no control byte but newline (C0, DEL), no UTF-8 C1, no byte of invalid UTF-8.
raw_free() {
  python3 - "$1" "$2" <<'PY' || fail "$2 has raw control bytes (see above)"
import re, sys
data = open(sys.argv[1], "rb").read()
bad = re.search(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", data)
try:
    data.decode("utf-8")
except UnicodeDecodeError as e:
    bad = bad or e
if bad:
    print(f"{sys.argv[2]}: raw control or invalid byte: {bad!r}", file=sys.stderr)
    sys.exit(1)
PY
}

# The comment: screen clear, title set, a forged row after a newline, CR, DEL, C1 CSI; then UTF-8 text.
cat >evil.toml <<'TOML'
[task]
id = "evil"
comment = "A\u001b[2J\u001b]0;pwned\u0007B\nforged   active     0.0%     1M     1h fake row\rC\u007fD\u009b31mE café"
[task.backend]
type = "local"
[task.wrapper]
type = "default"
command = "echo \u001b[31mred\u001b[0m\ttab\u009bx"
TOML
task_toml plain.toml plain 'true' local
run 0 load evil.toml plain.toml

run 0 list
raw_free "$T/out" "list"
raw_free "$T/err" "list's stderr"
[ "$(wc -l <"$T/out")" = 3 ] || fail "list printed $(wc -l <"$T/out") lines, not a header and 2 rows"
out_has 'A\x1b[2J\x1b]0;pwned\x07B\nforged   active     0.0%     1M     1h fake row\rC\x7fD\u009b31mE café'
pass "list: the comment is one escaped row (header + 2 rows), UTF-8 text kept"

run 0 status evil
raw_free "$T/out" "status"
raw_free "$T/err" "status's stderr"
out_has 'evil (task) - A\x1b[2J\x1b]0;pwned\x07B\nforged'
out_has 'Command: echo \x1b[31mred\x1b[0m\ttab\u009bx'
pass "status: comment and command escaped"

run 0 status '.*'
raw_free "$T/out" "status of all"
run 1 stop --dry-run '.*'
raw_free "$T/out" "stop --dry-run"

# The task's output shown by status is escaped too (logs prints it raw, as tail does).
run 0 start evil
wait_for 10 is_inactive evil || fail "evil did not end"
run 0 status evil
raw_free "$T/out" "status with the task's output"
out_has 'red\x1b[0m\ttab'
pass "status: the task's output escaped"

# A lone 0x9b byte (invalid UTF-8, the 8-bit CSI) in a YAML comment: refused at load (TOML and JSON
# parsers refuse it already), and the message does not carry it.
printf 'task:\n  id: lone\n  comment: "x\x9b2Jy"\n  backend: {type: local}\n  wrapper: {type: default, command: "true"}\n' >lone.yaml
run 3 load lone.yaml
err_has "lone.yaml: task.comment: not valid UTF-8 text"
raw_free "$T/err" "load of a lone 0x9b"
pass "a lone 0x9b byte is refused at load"

# IDs can't hold control characters at all: refused at load, and the message is escaped.
for id in 'a\u001bb' 'a\nb' 'a\u007f' 'a\u009bb'; do
  printf '{"task": {"id": "%s", "backend": {"type": "local"}, "wrapper": {"type": "default", "command": "true"}}}\n' \
    "$id" >badid.json
  run 3 load badid.json
  err_has "is not a valid ID"
  raw_free "$T/err" "load of ID $id"
done
pass "IDs with control characters are refused, the message escaped"
echo "control_chars: all passed"
