#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile input, end to end. For every descriptor field and in each of TOML, YAML and JSON a wrong value
# is refused with exit status 3, a message naming the file and the key path, "nothing was loaded", and
# `spmi list` showing 0 manageables afterwards (each bad file is loaded together with a good one: load is
# all or nothing). Then: binary garbage, oversized files, alias bombs, deep nesting, directories, FIFOs,
# devices, unreadable files, mixed-case extensions, file modes of the state, and IDs that try to leave
# $SPMI_PATH.
#
# Cases marked `# BUG:` (in the Python table below, or in the shell) assert the behaviour spmi should have
# but does not have yet; they are skipped so the suite passes. Run with HOSTILE_BUGS=1 to run them too.
source "$(dirname "$0")/common.sh"
need python3

skipped_bugs=0
checks=0

# Every spmi call on a hostile file runs under a time limit, and the whole suite under a memory cap
# (1 GiB of address space), so a hang or a runaway allocation fails the test instead of hanging the
# machine.
# AddressSanitizer reserves terabytes of address space, so a sanitizer build runs without the cap (and is
# not even tried under it: the failed try would leave a sanitizer report).
if [ -n "${SPMI_TEST_SANITIZED:-}" ]; then
  echo "NOTE: sanitizer build: no memory cap"
elif { ( ulimit -v 1048576 && "$SPMI" -v ) >/dev/null 2>&1; } 2>/dev/null; then
  ulimit -v 1048576
else
  echo "NOTE: $SPMI does not run with 1 GiB of address space: no memory cap"
fi
# Where guarded_run leaves spmi's output (each parallel worker below has its own).
OUT=$T/out
ERR=$T/err
fail() {
  echo "FAIL: $*" | cat -v >&2
  [ -f "$OUT" ] && { echo "--- stdout"; cat "$OUT"; } >&2
  [ -f "$ERR" ] && { echo "--- stderr"; cat -v "$ERR"; } >&2
  exit 1
}
# guarded_run EXPECTED_RC SECONDS spmi-args... (SECONDS 0: no time limit but CTest's, for the hundreds of
# generated cases, which read small regular files; a timeout process per call would double their cost)
guarded_run() {
  local want=$1 seconds=$2; shift 2
  local rc=0
  if [ "$seconds" = 0 ]; then
    "$SPMI" "$@" >"$OUT" 2>"$ERR" </dev/null || rc=$?
  else
    timeout -s KILL "$seconds" "$SPMI" "$@" >"$OUT" 2>"$ERR" </dev/null || rc=$?
  fi
  # Keep the output for the checks below (read without a subshell: hundreds of cases).
  IFS= read -r -d '' OUT_TEXT <"$OUT" || true
  IFS= read -r -d '' ERR_TEXT <"$ERR" || true
  if [ "$rc" != "$want" ]; then
    case $rc in
      137) fail "spmi $* did not finish within $seconds s (killed)" ;;
      13[0-9] | 1[4-5][0-9]) fail "spmi $* crashed: exit status $rc (signal $((rc - 128)))" ;;
    esac
    fail "spmi $* exited $rc, expected $want"
  fi
}
# Checks of the output of the last guarded_run.
err_has() { [[ $ERR_TEXT == *"$1"* ]] || fail "stderr lacks: $1"; }
err_lacks() { [[ $ERR_TEXT != *"$1"* ]] || fail "stderr has: $1"; }
out_has() { [[ $OUT_TEXT == *"$1"* ]] || fail "stdout lacks: $1"; }
out_lacks() { [[ $OUT_TEXT != *"$1"* ]] || fail "stdout has: $1"; }
bug_skip() { # DESCRIPTION: returns 1 (skip the case) unless HOSTILE_BUGS=1
  if [ -n "${HOSTILE_BUGS:-}" ]; then return 0; fi
  echo "SKIP (known bug): $1"
  skipped_bugs=$((skipped_bugs + 1))
  return 1
}

# Nothing is registered: `spmi list` says so and $SPMI_PATH holds nothing (not even a staging directory).
assert_nothing_loaded() {
  guarded_run 0 "${LIST_SECONDS:-10}" list
  err_has "Registered 0 manageables"
  local entries=()
  if [ -d "$SPMI_PATH" ]; then
    shopt -s nullglob dotglob
    local entry
    for entry in "$SPMI_PATH"/*; do
      [ "${entry##*/}" = .store.lock ] || entries+=("$entry")  # the store's own lock file may stay
    done
    shopt -u nullglob dotglob
  fi
  [ ${#entries[@]} = 0 ] || fail "\$SPMI_PATH is not empty after a refused load: ${entries[*]}"
}

# refused GOOD BAD SECONDS MESSAGE...: `load GOOD BAD` exits 3 with every MESSAGE on stderr (a MESSAGE
# starting with '!' must NOT appear), "nothing was loaded", and nothing is loaded.
refused() {
  local good=$1 bad=$2 seconds=$3; shift 3
  guarded_run 3 "$seconds" load "$good" "$bad"
  local message
  for message in "$@"; do
    if [ "${message:0:1}" = '!' ]; then
      err_lacks "${message:1}"
    else
      err_has "$message"
    fi
  done
  err_has "nothing was loaded: 1 of 2 descriptors are invalid"
  assert_nothing_loaded
  checks=$((checks + 1))
}

# ---------------------------------------------------------------------------------------------------
# 1. Every field, every format: cases generated from one table.
mkdir cases
python3 - cases <<'PY'
import json, re, sys

out_dir = sys.argv[1]

class Raw:
    """A literal written as-is; formats without an entry can't express it (case skipped there)."""
    def __init__(self, **by_format): self.by_format = by_format

DEL = object()          # remove the key
NUL = None              # YAML/JSON null; TOML has none

def good(id_):
    return {"task": {
        "id": id_,
        "comment": "A good descriptor.",
        "backend": {"type": "screen"},
        "wrapper": {"type": "default", "command": "true", "mixed_stdout": True,
                    "stop_signal": "SIGTERM", "stop_timeout": 5},
    }}

# ---- emitters --------------------------------------------------------------------------------------
BARE = re.compile(r"[A-Za-z0-9_-]+\Z")

def usable(value, fmt):
    if isinstance(value, Raw):
        return fmt in value.by_format
    if value is None:
        return fmt != "toml"
    if isinstance(value, dict):
        return all(usable(v, fmt) for v in value.values())
    if isinstance(value, list):
        return all(usable(v, fmt) for v in value)
    return True

def scalar(value, fmt):
    if isinstance(value, Raw):
        return value.by_format[fmt]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a basic string in TOML, a double-quoted scalar in YAML
    raise TypeError(value)

def toml_key(k): return k if BARE.match(k) else json.dumps(k)

def toml_inline(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_inline(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(toml_inline(x) for x in v) + "]"
    return scalar(v, "toml")

def toml(doc):
    lines = []
    def table(path, d):
        if path:
            lines.append("[" + ".".join(toml_key(k) for k in path) + "]")
        for k, v in d.items():
            if not isinstance(v, dict):
                lines.append(f"{toml_key(k)} = {toml_inline(v)}")
        for k, v in d.items():
            if isinstance(v, dict):
                table(path + [k], v)
    table([], doc)
    return "\n".join(lines) + "\n"

def yaml_key(k): return k if BARE.match(k) else json.dumps(k)

def yaml_flow(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{yaml_key(k)}: {yaml_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(yaml_flow(x) for x in v) + "]"
    return scalar(v, "yaml")

def yaml(doc):
    lines = []
    def mapping(d, indent):
        for k, v in d.items():
            if isinstance(v, dict) and v:
                lines.append(" " * indent + f"{yaml_key(k)}:")
                mapping(v, indent + 2)
            else:
                lines.append(" " * indent + f"{yaml_key(k)}: {yaml_flow(v)}")
    mapping(doc, 0)
    return "\n".join(lines) + "\n"

def json_text(v, indent=0):
    pad = "  " * (indent + 1)
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = [f"{pad}{json.dumps(k)}: {json_text(x, indent + 1)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(v, list):
        return "[" + ", ".join(json_text(x, indent + 1) for x in v) + "]"
    return scalar(v, "json")

EMIT = {"toml": toml, "yaml": yaml, "json": lambda d: json_text(d) + "\n"}

# ---- the table -------------------------------------------------------------------------------------
# (name, path, value, expected messages ("{f}" = the file name; a leading '!' = must not appear),
#  options). The value replaces the one at path (DEL removes it, ("rename", new) renames the key).
# options: bug={fmt-or-"*": reason}: the right behaviour is asserted but the case is skipped (# BUG:);
#          only=[formats]; expect_by={fmt: [messages]} replaces the expectation for that format.
WR = ("task", "wrapper")
TYPE_NAME = "is not a backend type name; use lower-case letters, digits and '_'"
BAD_ID = "is not a valid ID; use 1-64 letters, digits, '_', '.' or '-', starting with a letter, digit or '_'"
CASES = [
    # the top-level value
    ("top_string", ("task",), "hello", ["{f}: task: expected a table, got a string"], {}),
    ("top_array", ("task",), ["a", "b"], ["{f}: task: expected a table, got an array"], {}),
    ("top_integer", ("task",), 5, ["{f}: task: expected a table, got an integer"], {}),
    ("top_float", ("task",), 2.5, ["{f}: task: expected a table, got a number"], {}),
    ("top_bool", ("task",), True, ["{f}: task: expected a table, got a boolean"], {}),
    ("top_null", ("task",), NUL, ["{f}: task: expected a table, got null"], {}),
    ("top_empty_doc", (), {}, ["{f}: expected one top-level table naming the manageable type, e.g. [task]"], {}),
    ("top_two_tables", ("extra",), {"id": "y"},
     ["{f}: expected one top-level table naming the manageable type, found 2: 'extra', 'task'"], {}),
    ("top_type_typo", ("task",), ("rename", "tassk"),
     ["{f}: tassk: unknown manageable type 'tassk': no plugin exports class TasskManageable",
      "did you mean 'task'?", "; installed manageables: "], {}),
    ("top_type_upper", ("task",), ("rename", "Task"),
     ["{f}: 'Task' is not a manageable type name; use lower-case letters, digits and '_', e.g. task"], {}),
    ("top_type_path", ("task",), ("rename", "../task"), ["{f}: '../task' is not a manageable type name"], {}),
    # task.id
    ("id_missing", ("task", "id"), DEL, ["{f}: task: missing key 'id'"], {}),
    ("id_integer", ("task", "id"), 42, ["{f}: task.id: expected a string, got an integer"], {}),
    ("id_float", ("task", "id"), 1.5, ["{f}: task.id: expected a string, got a number"], {}),
    ("id_bool", ("task", "id"), True, ["{f}: task.id: expected a string, got a boolean"], {}),
    ("id_array", ("task", "id"), ["a"], ["{f}: task.id: expected a string, got an array"], {}),
    ("id_table", ("task", "id"), {"a": "b"}, ["{f}: task.id: expected a string, got a table"], {}),
    ("id_null", ("task", "id"), NUL, ["{f}: task.id: expected a string, got null"], {}),
    ("id_empty", ("task", "id"), "", ["{f}: task.id: must not be empty"], {}),
    ("id_dotdot_x", ("task", "id"), "../x", ["{f}: task.id: '../x' " + BAD_ID], {}),
    ("id_dotdot", ("task", "id"), "..", ["{f}: task.id: '..' " + BAD_ID], {}),
    ("id_slash", ("task", "id"), "a/b", ["{f}: task.id: 'a/b' " + BAD_ID], {}),
    ("id_absolute", ("task", "id"), "/etc", ["{f}: task.id: '/etc' " + BAD_ID], {}),
    ("id_hidden", ("task", "id"), ".hidden", ["{f}: task.id: '.hidden' " + BAD_ID], {}),
    ("id_dash", ("task", "id"), "-rf", ["{f}: task.id: '-rf' " + BAD_ID], {}),
    ("id_65_chars", ("task", "id"), "a" * 65, ["{f}: task.id: '" + "a" * 65 + "' " + BAD_ID], {}),
    ("id_space", ("task", "id"), "x y", ["{f}: task.id: 'x y' " + BAD_ID], {}),
    ("id_unicode", ("task", "id"), "caf\u00e9", ["{f}: task.id: 'caf\u00e9' " + BAD_ID], {}),
    # Control characters from a descriptor are shown escaped, never sent raw to the terminal.
    ("id_escape_sequence", ("task", "id"), "\x1b[31mRED\x1b[0m",
     ["{f}: task.id: '", BAD_ID, "!\x1b["],
     {}),
    # task.comment
    ("comment_integer", ("task", "comment"), 7, ["{f}: task.comment: expected a string, got an integer"], {}),
    ("comment_table", ("task", "comment"), {"a": "b"}, ["{f}: task.comment: expected a string, got a table"], {}),
    ("comment_array", ("task", "comment"), ["a"], ["{f}: task.comment: expected a string, got an array"], {}),
    ("comment_null", ("task", "comment"), NUL, ["{f}: task.comment: expected a string, got null"], {}),
    # task.backend
    ("backend_missing", ("task", "backend"), DEL, ["{f}: task: missing table 'backend'"], {}),
    ("backend_string", ("task", "backend"), "screen", ["{f}: task.backend: expected a table, got a string"], {}),
    ("backend_array", ("task", "backend"), ["screen"], ["{f}: task.backend: expected a table, got an array"], {}),
    ("backend_null", ("task", "backend"), NUL, ["{f}: task.backend: expected a table, got null"], {}),
    # task.backend.type
    ("backend_type_missing", ("task", "backend", "type"), DEL, ["{f}: task.backend: missing key 'type'"], {}),
    ("backend_type_integer", ("task", "backend", "type"), 1,
     ["{f}: task.backend.type: expected a string, got an integer"], {}),
    ("backend_type_null", ("task", "backend", "type"), NUL, ["{f}: task.backend.type: expected a string, got null"], {}),
    ("backend_type_empty", ("task", "backend", "type"), "", ["{f}: task.backend.type: must not be empty"], {}),
    ("backend_type_upper", ("task", "backend", "type"), "Screen", ["{f}: task.backend.type: 'Screen' " + TYPE_NAME], {}),
    ("backend_type_space", ("task", "backend", "type"), "scr een",
     ["{f}: task.backend.type: 'scr een' " + TYPE_NAME], {}),
    ("backend_type_path", ("task", "backend", "type"), "../screen",
     ["{f}: task.backend.type: '../screen' " + TYPE_NAME], {}),
    ("backend_type_typo", ("task", "backend", "type"), "scren",
     ["{f}: task.backend.type: unknown backend type 'scren': no plugin exports class ScrenBackend",
      "did you mean 'screen'?", "; installed backends: "], {}),
    # task.wrapper
    ("wrapper_missing", ("task", "wrapper"), DEL, ["{f}: task: missing table 'wrapper'"], {}),
    ("wrapper_integer", ("task", "wrapper"), 5, ["{f}: task.wrapper: expected a table, got an integer"], {}),
    ("wrapper_string", ("task", "wrapper"), "default", ["{f}: task.wrapper: expected a table, got a string"], {}),
    ("wrapper_null", ("task", "wrapper"), NUL, ["{f}: task.wrapper: expected a table, got null"], {}),
    # task.wrapper.type
    ("wrapper_type_missing", (*WR, "type"), DEL, ["{f}: task.wrapper: missing key 'type'"], {}),
    ("wrapper_type_unknown", (*WR, "type"), "bogus",
     ["{f}: task.wrapper.type: unknown wrapper type 'bogus': no plugin exports class BogusWrapper",
      "installed wrappers: default", "!did you mean"], {}),
    ("wrapper_type_typo", (*WR, "type"), "defualt",
     ["{f}: task.wrapper.type: unknown wrapper type 'defualt'", "did you mean 'default'?"], {}),
    ("wrapper_type_integer", (*WR, "type"), 0, ["{f}: task.wrapper.type: expected a string, got an integer"], {}),
    # task.wrapper.command
    ("command_missing", (*WR, "command"), DEL, ["{f}: task.wrapper: missing key 'command'"], {}),
    ("command_integer", (*WR, "command"), 42,
     ["{f}: task.wrapper.command: expected a string, got an integer"], {}),
    ("command_empty", (*WR, "command"), "", ["{f}: task.wrapper.command: must not be empty"], {}),
    ("command_array", (*WR, "command"), ["echo", "hi"],
     ["{f}: task.wrapper.command: expected a string, got an array"], {}),
    ("command_table", (*WR, "command"), {"sh": "true"},
     ["{f}: task.wrapper.command: expected a string, got a table"], {}),
    ("command_null", (*WR, "command"), NUL, ["{f}: task.wrapper.command: expected a string, got null"], {}),
    # task.wrapper.mixed_stdout
    ("mixed_string_yes", (*WR, "mixed_stdout"), "yes",
     ["{f}: task.wrapper.mixed_stdout: expected true or false, got a string"], {}),
    # YAML 1.1's unquoted yes: spmi reads YAML 1.2 (core schema), so it is a string.
    ("mixed_plain_yes", (*WR, "mixed_stdout"), Raw(yaml="yes"),
     ["{f}: task.wrapper.mixed_stdout: expected true or false, got a string"], {}),
    ("mixed_integer", (*WR, "mixed_stdout"), 1,
     ["{f}: task.wrapper.mixed_stdout: expected true or false, got an integer"], {}),
    ("mixed_string_true", (*WR, "mixed_stdout"), "true",
     ["{f}: task.wrapper.mixed_stdout: expected true or false, got a string"], {}),
    ("mixed_null", (*WR, "mixed_stdout"), NUL,
     ["{f}: task.wrapper.mixed_stdout: expected true or false, got null"], {}),
    # task.wrapper.stop_signal: a name or a number (15 and "15" are accepted).
    ("signal_integer", (*WR, "stop_signal"), 999,
     ["{f}: task.wrapper.stop_signal: unknown signal '999'; use a name such as SIGINT or SIGTERM"], {}),
    ("signal_unknown", (*WR, "stop_signal"), "SIGBOGUS",
     ["{f}: task.wrapper.stop_signal: unknown signal 'SIGBOGUS'; use a name such as SIGINT or SIGTERM"], {}),
    ("signal_empty", (*WR, "stop_signal"), "",
     ["{f}: task.wrapper.stop_signal: unknown signal ''; use a name such as SIGINT or SIGTERM"], {}),
    ("signal_number_out_of_range", (*WR, "stop_signal"), "999",
     ["{f}: task.wrapper.stop_signal: unknown signal '999'"], {}),
    ("signal_zero", (*WR, "stop_signal"), "0", ["{f}: task.wrapper.stop_signal: unknown signal '0'"], {}),
    ("signal_array", (*WR, "stop_signal"), ["SIGINT"],
     ["{f}: task.wrapper.stop_signal: expected a signal name such as \"SIGTERM\" or a number, got an array"], {}),
    # task.wrapper.stop_timeout
    # task.wrapper.stop_timeout: seconds, or a string with a unit ("5" and "1m" are accepted).
    ("timeout_string", (*WR, "stop_timeout"), "5x",
     ["{f}: task.wrapper.stop_timeout: '5x' is not a duration; use a number of seconds, or a number with ms, s, m, h or d"], {}),
    ("timeout_unit_range", (*WR, "stop_timeout"), "2d",
     ["{f}: task.wrapper.stop_timeout: '2d' is out of range; use 0 to 86400 seconds"], {}),
    ("timeout_negative", (*WR, "stop_timeout"), -1,
     ["{f}: task.wrapper.stop_timeout: -1 is out of range; use 0 to 86400 seconds"], {}),
    ("timeout_1e9", (*WR, "stop_timeout"), Raw(toml="1e9", yaml="1e9", json="1e9"),
     ["{f}: task.wrapper.stop_timeout: 1000000000 is out of range; use 0 to 86400 seconds"], {}),
    ("timeout_86401", (*WR, "stop_timeout"), 86401,
     ["{f}: task.wrapper.stop_timeout: 86401 is out of range; use 0 to 86400 seconds"], {}),
    ("timeout_bool", (*WR, "stop_timeout"), True,
     ["{f}: task.wrapper.stop_timeout: expected a number of seconds or a string such as \"30s\", got a boolean"], {}),
    ("timeout_null", (*WR, "stop_timeout"), NUL,
     ["{f}: task.wrapper.stop_timeout: expected a number of seconds or a string such as \"30s\", got null"], {}),
    ("timeout_huge_integer", (*WR, "stop_timeout"), Raw(yaml="99999999999999999999", json="99999999999999999999"),
     ["{f}: task.wrapper.stop_timeout: 1e+20 is out of range; use 0 to 86400 seconds"], {}),
    # TOML nan/inf: refused as not finite.
    ("timeout_nan", (*WR, "stop_timeout"), Raw(toml="nan"),
     ["{f}: task.wrapper.stop_timeout: ", "nan", "!expected a number, got a number"],
     {}),
    ("timeout_inf", (*WR, "stop_timeout"), Raw(toml="inf"),
     ["{f}: task.wrapper.stop_timeout: ", "inf", "!expected a number, got a number"],
     {}),
    # A number too large for a double. TOML refuses it as a syntax error at line:column (acceptable);
    # YAML and JSON name the key path.
    ("timeout_overflow", (*WR, "stop_timeout"), Raw(toml="1e400", yaml="1e400", json="1e400"),
     ["{f}: task.wrapper.stop_timeout:"],
     {"expect_by": {"toml": ["{f}:11:", "invalid TOML: Error while parsing floating-point: '1e400'"]}}),
    # Duplicate keys are refused in every format (an ID given twice is not resolved by guessing).
    ("duplicate_key", ("task", "id"), Raw(), ["{f}", "task.id", "duplicate"],
     {"dup": True, "expect_by": {"toml": ["{f}:3:", "invalid TOML", "'id'"]}}),
    # YAML only: a mapping used as a key.
    ("yaml_complex_key", ("task",), Raw(yaml="complex"), ["{f}: line 2: keys must be plain strings"],
     {"only": ["yaml"], "text": "task:\n  ? [id]\n  : x\n"}),
]

def apply(doc, path, value):
    node = doc
    for key in path[:-1]:
        node = node[key]
    last = path[-1]
    if value is DEL:
        del node[last]
    elif isinstance(value, tuple) and value[0] == "rename":
        # keep the key's position: rebuild the mapping
        items = [((value[1] if k == last else k), v) for k, v in node.items()]
        node.clear()
        node.update(items)
    else:
        node[last] = value
    return doc

index = []
for fmt in ("toml", "yaml", "json"):
    with open(f"{out_dir}/good.{fmt}", "w") as f:
        f.write(EMIT[fmt](good(f"good_{fmt}")))
    # Boundaries that must be accepted: a 64-character ID, stop_timeout 86400 (as "1d"), a numeric signal.
    edge = good("e" * 63 + fmt[0])
    edge["task"]["wrapper"]["stop_timeout"] = "1d"
    edge["task"]["wrapper"]["stop_signal"] = 15
    with open(f"{out_dir}/edge.{fmt}", "w") as f:
        f.write(EMIT[fmt](edge))
    for name, path, value, expect, opts in CASES:
        if "only" in opts and fmt not in opts["only"]:
            continue
        if "text" not in opts and not opts.get("dup") and not isinstance(value, tuple) and value is not DEL \
                and not usable(value, fmt):
            continue
        file = f"{out_dir}/{name}.{fmt}"
        if "text" in opts:
            text = opts["text"]
        elif opts.get("dup"):
            # A complete, valid descriptor but for an ID given twice.
            text = EMIT[fmt](good("dup_a"))
            first = {"toml": 'id = "dup_a"\n', "yaml": 'id: "dup_a"\n', "json": '"id": "dup_a",\n'}[fmt]
            assert first in text
            indent = text[:text.index(first)].rsplit("\n", 1)[-1]
            text = text.replace(first, first + indent + first.replace("dup_a", "dup_b"), 1)
        elif path == ():
            text = EMIT[fmt](value)
        else:
            text = EMIT[fmt](apply(good("bad"), path, value))
        with open(file, "w", encoding="utf-8") as f:
            f.write(text)
        messages = opts.get("expect_by", {}).get(fmt, expect)
        bug = opts.get("bug", {})
        reason = bug.get(fmt, bug.get("*", "-"))
        index.append("\t".join([f"{out_dir}/good.{fmt}", file, reason] + [m.replace("{f}", file) for m in messages]))

with open(f"{out_dir}/index.tsv", "w", encoding="utf-8") as f:
    f.write("\n".join(index) + "\n")
PY

# The good descriptors and the boundary values are accepted: the cases below would prove nothing otherwise.
for fmt in toml yaml json; do
  guarded_run 0 10 load "cases/good.$fmt" "cases/edge.$fmt"
  err_has "Loaded 2 manageables"
  guarded_run 0 10 clean '.*'
done
assert_nothing_loaded
pass "good and boundary descriptors load in TOML, YAML and JSON"

# The cases run in a few parallel workers, each with its own $SPMI_PATH and output files.
run_cases() { # WORKER COUNT: runs every COUNT-th case of the index, starting at WORKER
  local worker=$1 count=$2 n=0 fields good file bug
  export SPMI_PATH=$T/state.$worker
  LIST_SECONDS=0
  OUT=$T/out.$worker ERR=$T/err.$worker
  while IFS=$'\t' read -r -a fields; do
    n=$((n + 1))
    [ $((n % count)) = "$worker" ] || continue
    good=${fields[0]} file=${fields[1]} bug=${fields[2]}
    if [ "$bug" != - ]; then
      # BUG: see the reason in the Python table; the expectation is what spmi should print.
      bug_skip "$file: $bug" || continue
    fi
    refused "$good" "$file" 0 "${fields[@]:3}"
  done <cases/index.tsv
}
workers=3
pids=()
for w in $(seq 0 $((workers - 1))); do
  run_cases "$w" "$workers" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || fail "a worker of the generated cases failed (see above)"
OUT=$T/out ERR=$T/err
generated=$(grep -c . cases/index.tsv)
known_bugs=$(cut -f3 cases/index.tsv | grep -vxc -- - || true)
if [ -n "${HOSTILE_BUGS:-}" ]; then
  checks=$((checks + generated))
else
  checks=$((checks + generated - known_bugs))
  skipped_bugs=$((skipped_bugs + known_bugs))
fi
pass "$generated generated field cases (TOML, YAML, JSON)"

# ---------------------------------------------------------------------------------------------------
# 2. Hostile files.
cp cases/good.toml good.toml

# Binary garbage: random bytes (with NUL bytes), and high bytes without NUL (invalid UTF-8).
python3 - <<'PY'
import random
rng = random.Random(20261125)
for ext in ("yaml", "toml", "json"):
    data = bytearray(rng.randrange(256) for _ in range(8192))
    data[100] = 0
    open(f"garbage.{ext}", "wb").write(bytes(data))
    open(f"highbytes.{ext}", "wb").write(bytes(rng.randrange(128, 256) for _ in range(8192)))
    open(f"empty.{ext}", "wb").close()
# 2 MiB, mostly comments: valid text, too big.
line = b"# " + b"x" * 61 + b"\n"
for ext in ("yaml", "toml"):
    open(f"big.{ext}", "wb").write(line * (2 * 1024 * 1024 // len(line)) + b"\n" * (2 * 1024 * 1024 % len(line)))
open("big.json", "wb").write(b" " * (2 * 1024 * 1024 - 2) + b"{}")
# Billion laughs: 9^9 strings if expanded, also reached from inside task.comment.
lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
for prev, cur in zip("abcdefgh", "bcdefghi"):
    lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
open("bomb.yaml", "w").write("\n".join(lines) + "\n")
open("bomb_in_task.yaml", "w").write(
    "defs:\n" + "\n".join("  " + l for l in lines) + "\n" "task:\n  id: bomb\n  comment: *i\n")
# Deep nesting, 200,000 levels.
n = 200000
open("deep.json", "w").write("[" * n + "]" * n + "\n")
open("deep_flow.yaml", "w").write("[" * n + "]" * n + "\n")
open("deep_inline.toml", "w").write("a = " + "[" * n + "]" * n + "\n")
# The same behind a comment holding a quote (spmi's bracket counter then thinks the rest is a string),
# and as a block sequence (no brackets at all).
open("deep_flow_after_quote.yaml", "w").write('# "\n' + "[" * n + "]" * n + "\n")
open("deep_block.yaml", "w").write("- " * n + "x\n")
open("deep_block_100.yaml", "w").write("- " * 100 + "x\n")
# TOML nesting without brackets: a dotted table header and a dotted key, 100,000 levels; and a header
# of 500,000 levels (1,000,002 bytes, under the size limit), deep enough to crash toml++ itself.
open("deep_header.toml", "w").write("[" + ".".join(["a"] * 100000) + "]\n")
open("deep_dotted_key.toml", "w").write("a" + ".a" * 100000 + " = 1\n")
open("deep_header_500k.toml", "w").write("[" + ".".join(["a"] * 500000) + "]\n")
PY

for ext in yaml toml json; do
  refused good.toml "garbage.$ext" 10 "garbage.$ext: not a text file (contains a NUL byte)"
done
refused good.toml highbytes.toml 10 "highbytes.toml:1:1: invalid TOML: Encountered invalid utf-8 sequence"
refused good.toml highbytes.json 10 "highbytes.json: invalid JSON: parse error at line 1, column 1"
refused good.toml highbytes.yaml 10 "highbytes.yaml: (top level): not valid UTF-8 text; save the file as UTF-8"
refused good.toml empty.toml 10 "empty.toml: expected one top-level table naming the manageable type, e.g. [task]"
refused good.toml empty.yaml 10 "empty.yaml: expected one top-level table naming the manageable type, e.g. [task]"
refused good.toml empty.json 10 "empty.json: invalid JSON: parse error at line 1, column 1"
pass "binary garbage and empty files (.yaml, .toml, .json)"

for ext in yaml toml json; do
  refused good.toml "big.$ext" 10 "big.$ext: file is 2097152 bytes; descriptors are limited to 1048576 bytes"
done
pass "2 MiB descriptors are refused by size"

# The size limit does not trust stat: a procfs file (size 0, content > 1 MiB) is refused by what is read.
if [ -r /proc/kallsyms ] && [ "$(head -c 1048577 /proc/kallsyms | wc -c)" -gt 1048576 ]; then
  ln -s /proc/kallsyms procfs.yaml
  refused good.toml procfs.yaml 10 "procfs.yaml: " "descriptors are limited to 1048576 bytes"
fi

refused good.toml bomb.yaml 5 \
  "bomb.yaml: document too large or too deeply nested (more than 10000 values or 64 levels)"
refused good.toml bomb_in_task.yaml 5 "bomb_in_task.yaml: document too large or too deeply nested"
pass "YAML alias bombs are refused within 5 s"

refused good.toml deep.json 5 "deep.json: nested more than 64 levels deep"
refused good.toml deep_flow.yaml 5 "deep_flow.yaml: nested more than 64 levels deep"
refused good.toml deep_inline.toml 5 "deep_inline.toml: nested more than 64 levels deep"
refused good.toml deep_block_100.yaml 5 "deep_block_100.yaml: nested more than 64 levels deep"
pass "200,000-deep JSON array, YAML flow sequence and TOML array are refused within 5 s"

# Deep YAML hidden from a naive bracket counter (after a quote in a comment, or as block sequences).
refused good.toml deep_flow_after_quote.yaml 5 "deep_flow_after_quote.yaml: nested more than 64 levels deep"
refused good.toml deep_block.yaml 5 "deep_block.yaml: nested more than 64 levels deep"
pass "deep YAML past a naive bracket counter is refused with the nesting limit"
# Deep TOML through dotted keys and table headers (toml++ would overflow its stack at ~150,000 levels,
# so the depth is checked before parsing).
refused good.toml deep_header.toml 5 "deep_header.toml: nested more than 64 levels deep"
refused good.toml deep_dotted_key.toml 5 "deep_dotted_key.toml: nested more than 64 levels deep"
refused good.toml deep_header_500k.toml 5 "deep_header_500k.toml: nested more than 64 levels deep"
pass "deep TOML tables are refused before parsing"

mkdir dir.toml dir.json
refused good.toml dir.toml 10 "dir.toml: is a directory, not a descriptor file"
refused good.toml dir.json 10 "dir.json: is a directory, not a descriptor file"
pass "a directory is refused"

mkfifo fifo.json
refused good.toml fifo.json 10 "fifo.json: not a regular file"
ln -s /dev/zero zero.json
refused good.toml zero.json 10 "zero.json: not a regular file"
ln -s loop.yaml loop.yaml
refused good.toml loop.yaml 10 "loop.yaml: cannot read" "Too many levels of symbolic links"
ln -s nowhere.toml dangling.toml
refused good.toml dangling.toml 10 "dangling.toml: cannot read" "No such file or directory"
pass "a FIFO, a symlink to /dev/zero, a symlink loop and a dangling symlink are refused without hanging"


if [ "$(id -u)" = 0 ]; then
  echo "SKIP: unreadable file (running as root, who can read it anyway)"
else
  cp good.toml unreadable.toml
  sed -i 's/good_toml/unreadable/' unreadable.toml
  chmod 000 unreadable.toml
  refused good.toml unreadable.toml 10 "unreadable.toml: cannot read" "Permission denied"
  pass "an unreadable file is refused"
fi

# Extensions are matched without regard to case: .TOML, .Json and .YML load.
sed 's/good_toml/upper_toml/' cases/good.toml > UPPER.TOML
sed 's/good_json/mixed_json/' cases/good.json > Mixed.Json
sed 's/good_yaml/upper_yml/' cases/good.yaml > UPPER.YML
guarded_run 0 10 load UPPER.TOML Mixed.Json UPPER.YML
err_has "Loaded 3 manageables"
guarded_run 0 10 list
out_has "upper_toml"; out_has "mixed_json"; out_has "upper_yml"
guarded_run 0 10 clean '.*'
# ... and a wrong name is still refused clearly.
cp good.toml notes.Txt
refused good.toml notes.Txt 10 "notes.Txt: unknown descriptor format '.Txt'; name the file .toml, .yaml, .yml or .json"
pass "mixed-case extensions .TOML, .Json, .YML are accepted"

# ---------------------------------------------------------------------------------------------------
# 3. IDs can't escape $SPMI_PATH.
# A directory next to $SPMI_PATH that looks like a manageable, and one planted inside as a symlink.
guarded_run 0 10 load good.toml
mkdir -p "$T/x" "$T/victim"
cp -r "$SPMI_PATH/good_toml/." "$T/x/"
echo "precious" > "$T/victim/file"
ln -s "$T/x" "$SPMI_PATH/planted"
snapshot() {
  find "$T" \( -path "$SPMI_PATH" -o -path "$T/out" -o -path "$T/err" -o -path "$T/snapshot" \) -prune \
    -o -printf '%p %y %s %m %T@\n' | sort
}
snapshot >"$T/snapshot"

guarded_run 1 10 status '../..'
err_has "no loaded manageable matches '../..'"
guarded_run 1 10 clean '.*/.*'
err_has "no loaded manageable matches '.*/.*'"
guarded_run 1 10 connect ../x
err_has "no manageable '../x' is loaded"
guarded_run 1 10 start ''
err_has "no loaded manageable matches ''"
guarded_run 1 10 clean ../victim
err_has "no loaded manageable matches '../victim'"
guarded_run 1 10 kill "$T/x"
err_has "no loaded manageable matches '$T/x'"
guarded_run 1 10 connect "$T/x"
err_has "no manageable '$T/x' is loaded"
# The planted link is refused by name (StrictModes), never followed: list reports it and still lists
# the others.
guarded_run 1 10 clean planted
err_has "$SPMI_PATH/planted is a symbolic link"
guarded_run 1 10 list
err_has "manageable 'planted': $SPMI_PATH/planted is a symbolic link"
out_has good_toml
snapshot | diff "$T/snapshot" - >&2 || fail "files outside \$SPMI_PATH changed"
[ -f "$SPMI_PATH/good_toml/manageable.json" ] || fail "good_toml was touched"
pass "status '../..', clean '.*/.*', connect ../x, start '' and friends touch nothing outside \$SPMI_PATH"
rm -f "$SPMI_PATH/planted"
guarded_run 0 10 clean '.*'

# ---------------------------------------------------------------------------------------------------
# 4. File modes, even under umask 000.
if ! command -v screen >/dev/null 2>&1; then
  echo "SKIP: file modes (screen is not installed)"
else
  rm -rf "$SPMI_PATH"
  task_toml modes.toml modes 'echo out; echo err >&2; exec sleep 30' screen
  sed -i 's/mixed_stdout = true/mixed_stdout = false/' modes.toml
  ( umask 000; "$SPMI" load modes.toml && "$SPMI" start modes ) >"$OUT" 2>"$ERR" || fail "load/start under umask 000"
  file_has() { grep -qs "$1" "$2"; }
  wait_for 5 file_has out "$SPMI_PATH/modes/stdout" || fail "the task wrote no stdout"
  wait_for 5 file_has err "$SPMI_PATH/modes/stderr" || fail "the task wrote no stderr"
  mode() { stat -c %a "$1"; }
  [ "$(mode "$SPMI_PATH")" = 700 ] || fail "\$SPMI_PATH is mode $(mode "$SPMI_PATH"), expected 700"
  [ "$(mode "$SPMI_PATH/modes")" = 700 ] || fail "$SPMI_PATH/modes is mode $(mode "$SPMI_PATH/modes"), expected 700"
  [ -p "$SPMI_PATH/modes/stdin" ] || fail "stdin is not a FIFO"
  for f in stdin stdout stderr manageable.json; do
    [ "$(mode "$SPMI_PATH/modes/$f")" = 600 ] || fail "$f is mode $(mode "$SPMI_PATH/modes/$f"), expected 600"
  done
  # Nothing in the state is readable by others.
  others=$(find "$SPMI_PATH" -perm /077 -printf '%m %p\n')
  [ -z "$others" ] || fail "files open to group/others: $others"
  guarded_run 0 10 kill modes
  wait_for 5 is_inactive modes || fail "modes did not end"
  pass "state modes: \$SPMI_PATH 700, stdin FIFO / stdout / stderr / manageable.json 600 (umask 000)"
fi

echo "hostile: all passed ($checks refusals checked, $skipped_bugs known-bug cases skipped)"
