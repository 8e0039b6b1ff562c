#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Commands over many (local backend; many_cmds_screen.sh: screen): `list PATTERNS` lists only the
# matching manageables (a pattern matching nothing is reported, exit 1; --json keeps its schema);
# `status` without patterns shows all when at most 20 are loaded, else counts per state and a hint
# (--json: all); `logs PATTERNS` merges the tasks' lines, each after its padded ID, by timestamp where
# the lines have one, else task by task, coloured per ID only on a terminal; `logs -f` over several
# follows a restart and a rotation, picks up a task loaded later, ends cleanly on SIGINT, and stays
# small (under 16 MB resident) while a task floods it with 100 MB.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}
need script

for id in web-1 web-2 db; do
  task_toml "$id.toml" "$id" "echo $id says hi" "$BACKEND"
done
run 0 load web-1.toml web-2.toml db.toml
run 0 start web-1 web-2 db
for id in web-1 web-2 db; do wait_for 10 is_inactive "$id" || fail "$id did not end"; done

# --- list PATTERNS
run 0 list 'web-.*'
out_has "web-1"
out_has "web-2"
out_lacks "db "
err_has "Registered 3 manageables; 2 match"
run 1 list 'web-.*' 'cache.*'
out_has "web-1"
err_has "no loaded manageable matches 'cache.*' (see \`spmi list\`)"
run 1 list 'nothing.*'
err_has "Nothing to show"
run 1 list 'web*'
err_has "did you mean 'web.*'?"
run 0 list --json 'db|web-2'
python3 - "$T/out" "$SOURCE_DIR/docs/schema/spmi-list.schema.json" <<'PY' || fail "list --json PATTERNS"
import json, sys
data = json.load(open(sys.argv[1]))
assert [e["id"] for e in data["manageables"]] == ["db", "web-2"], data
try:
    import jsonschema
except ImportError:
    sys.exit(0)
v = jsonschema.Draft202012Validator
v(json.load(open(sys.argv[2])), format_checker=v.FORMAT_CHECKER).validate(data)
PY
run 1 list --json 'nothing.*'
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["manageables"] == [], d' "$T/out" \
  || fail "list --json matching nothing: an empty list"
run 0 list
err_has "Registered 3 manageables"
pass "list PATTERNS lists the matching ones, reports a pattern matching nothing"

# --- status without patterns: all when few are loaded
run 0 status
out_has "web-1 (task)"
out_has "db (task)"
err_has "Showed 3 manageables"
for i in $(seq 1 20); do
  printf '{"task":{"id":"s%02d","backend":{"type":"%s"},"wrapper":{"type":"default","command":"true"}}}\n' \
    "$i" "$BACKEND" >"s$i.json"
done
run 0 load s*.json
run 0 status
out_has "23 manageables loaded: 23 inactive"
out_lacks "web-1 (task)"
err_has "More than 20 loaded: give patterns to see their status"
run 0 status --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["manageables"]) == 23, d' "$T/out" \
  || fail "status --json without patterns shows all 23"
run 0 status 'web-.*'
out_has "web-2 (task)"
err_has "Showed 2 manageables"
run 0 clean 's.*'
pass "status without patterns: all of 3, counts of 23 (JSON: all)"

# --- logs of several: prefix, order, colour only on a terminal
# Timestamped lines interleave in time; lines without one come task by task, in file order.
# The two tasks take turns (a1 b1 a2 b2 a3): each waits until its line is in its output file (so
# timestamped) before letting the other go on, whatever the host's load does to their timing.
mkdir -p "$T/turns"
said() { printf 'until grep -q %s "%s/%s/stdout"; do sleep 0.05; done; sleep 0.05; touch "%s/%s"' \
  "$2" "$SPMI_PATH" "$1" "$T/turns" "$2"; }
await() { printf 'until [ -e "%s/%s" ]; do sleep 0.05; done' "$T/turns" "$1"; }
task_toml ta.toml ta "echo a1; $(said ta a1); $(await b1); echo a2; $(said ta a2); $(await b2); echo a3" \
  "$BACKEND" 'timestamps = true'
task_toml tbb.toml tbb "$(await a1); echo b1; $(said tbb b1); $(await a2); echo b2; $(said tbb b2)" \
  "$BACKEND" 'timestamps = true'
run 0 load ta.toml tbb.toml
run 0 start ta tbb
wait_for 10 is_inactive ta || fail "ta did not end"
wait_for 10 is_inactive tbb || fail "tbb did not end"
run 0 logs 'ta|tbb'
[ "$(sed -E 's/ [0-9T:.Z-]{24} / /' "$T/out")" = "$(printf 'ta  | a1\ntbb | b1\nta  | a2\ntbb | b2\nta  | a3')" ] \
  || fail "timestamped lines not merged in time order"
run 0 logs -n 1 't.*'
[ "$(sed -E 's/ [0-9T:.Z-]{24} / /' "$T/out")" = "$(printf 'tbb | b2\nta  | a3')" ] || fail "logs -n 1 of two"
run 0 logs 'web-.*' db
[ "$(cat "$T/out")" = "$(printf 'db    | db says hi\nweb-1 | web-1 says hi\nweb-2 | web-2 says hi')" ] \
  || fail "untimestamped tasks: task by task in ID order"
run 0 start web-1
wait_for 10 is_inactive web-1 || fail "web-1 did not end"
run 0 logs 'web-.*'
[ "$(cat "$T/out")" = "$(printf 'web-1 | web-1 says hi\nweb-1 | web-1 says hi\nweb-2 | web-2 says hi')" ] \
  || fail "several lines of one task stay together, in file order"
run 0 logs web-1
[ "$(cat "$T/out")" = "$(printf 'web-1 says hi\nweb-1 says hi')" ] || fail "one ID: no prefix, as before"
out_lacks $'\x1b'
script -qc "'$SPMI' logs 'web-.*'" /dev/null >"$T/tty" </dev/null
grep -q $'\x1b\[36mweb-1\x1b\[0m | web-1 says hi' "$T/tty" || fail "no colour on a terminal: $(cat -v "$T/tty")"
grep -q $'\x1b\[33mweb-2\x1b\[0m | web-2 says hi' "$T/tty" || fail "one colour per ID: $(cat -v "$T/tty")"
NO_COLOR=1 script -qc "'$SPMI' logs 'web-.*'" /dev/null >"$T/tty" </dev/null
! grep -q $'\x1b' "$T/tty" || fail "NO_COLOR: coloured anyway"
script -qc "'$SPMI' --no-color logs 'web-.*'" /dev/null >"$T/tty" </dev/null
! grep -q $'\x1b' "$T/tty" || fail "--no-color: coloured anyway"
run 1 logs 'web-.*' 'cache.*'
out_has "web-2 | web-2 says hi"
err_has "no loaded manageable matches 'cache.*'"
run 1 logs 'cache.*'
err_has "Nothing to show"
pass "logs of several: prefixed, merged by time or task by task, coloured only on a terminal"

# --- logs -f of several, across a restart and a rotation
task_toml rot.toml rot 'i=0; while :; do i=$((i+1)); echo "rot line $i"; sleep 0.01; done' "$BACKEND" \
  'max_output_size = "1K"' 'output_files_kept = 2'
task_toml rst.toml rst 'echo "rst start"; exec sleep 1201.'"$TAG" "$BACKEND"
run 0 load rot.toml rst.toml
run 0 start rot rst
"$SPMI" logs -f -n 1 'r.*' >"$T/follow" 2>"$T/follow.err" &
follower=$!
wait_for 10 grep -q "^rst | rst start" "$T/follow" || fail "logs -f: first lines missing"
run 0 restart rst
two_starts() { [ "$(grep -c '^rst | rst start' "$T/follow")" = 2 ]; }
wait_for 10 two_starts || fail "logs -f: the restart's line missing"
wait_for 10 test -e "$SPMI_PATH/rot/stdout.2" || fail "rot did not rotate twice"
# A task loaded after logs -f began, that its pattern selects, is picked up; one cleaned is dropped.
task_toml rnew.toml rnew 'echo "rnew hello"' "$BACKEND"
run 0 load rnew.toml
run 0 start rnew
wait_for 10 grep -q "^rnew | rnew hello" "$T/follow" || fail "logs -f did not pick up a task loaded later"
wait_for 10 is_inactive rnew || fail "rnew did not end"
run 0 clean rnew
wait_for 10 grep -q 'Manageable "rnew" was cleaned' "$T/follow.err" || fail "logs -f did not say rnew was cleaned"
sleep 0.5
kill -INT "$follower"
rc=0
wait "$follower" || rc=$?
[ "$rc" = 0 ] || fail "logs -f ended by SIGINT exited $rc"
run 0 stop rot rst
# Every rot line from the first followed to the last is there, once, in order, across the rotations.
grep '^rot | ' "$T/follow" | sed 's/^rot | rot line //' >"$T/numbers"
first=$(head -1 "$T/numbers"); last=$(tail -1 "$T/numbers")
[ "$((last - first))" -gt 100 ] || fail "logs -f followed only $first to $last"
[ "$(seq "$first" "$last")" = "$(cat "$T/numbers")" ] || fail "logs -f lost or repeated lines across rotation"
pass "logs -f of several: across a restart and rotations, picks up a task loaded later, SIGINT ends it with 0"
# A task writing 100 MB as fast as it can: logs -f of it and another stays small (it prints what it
# read every MiB, and a round's lines are not held whole).
need /usr/bin/time
task_toml flood.toml flood 'yes "$(printf "x%.0s" $(seq 1 99))" | head -c 100000000' "$BACKEND" 'max_output_size = "200M"'
task_toml calm.toml calm "exec sleep 1202.$TAG" "$BACKEND"
run 0 load flood.toml calm.toml
run 0 start calm
/usr/bin/time -f "%M" -o "$T/rss" "$SPMI" logs -f -n 0 'flood|calm' >"$T/flood.out" 2>/dev/null &
follower=$!
sleep 0.5
run 0 start flood
wait_for 30 is_inactive flood || fail "flood did not end"
sleep 0.5
kill -INT "$(pgrep -P "$follower")"  # spmi, under time(1), which ignores SIGINT itself
wait "$follower" || true
[ "$(wc -l <"$T/flood.out")" -ge 1000000 ] || fail "logs -f printed $(wc -l <"$T/flood.out") of the flood's 1000000 lines"
rss=$(tail -1 "$T/rss")
rm -f "$T/flood.out" "$SPMI_PATH/flood/stdout"
# Under AddressSanitizer freed memory sits in its quarantine (256 MB) and shadow memory adds more, so
# the bound is the normal build's; the sanitized run still checks every line arrives.
[ -n "${SPMI_TEST_SANITIZED:-}" ] || [ "$rss" -lt 16000 ] || fail "logs -f of a flood grew to $rss KiB"
run 0 stop calm
pass "logs -f of a 100 MB flood: all lines, at most $rss KiB resident"
echo "many_cmds ($BACKEND): all passed"
