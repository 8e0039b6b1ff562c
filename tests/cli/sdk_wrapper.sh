#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A third-party wrapper built on the run protocol, as its author would: `cmake --install` spmi, build
# examples/plugins/deadline_wrapper out of tree against the installed SDK, drop it into the user's
# plugin directory, and run tasks through it with the installed spmi. The wrapper keeps the default
# wrapper's features (env, SPMI_ID, cwd, restarts) and adds a deadline: an attempt that runs too long
# is stopped, its facts are in run.json, `status` and `status --json`, its log line in wrapper.log.
source "$(dirname "$0")/common.sh"
: "${SPMI_BUILD_DIR:?}"
need cmake
need python3

install_sdk

# Its sources are installed with the plugin guide; build them from there, as a user would.
src="$prefix/share/doc/spmi/examples/plugins/deadline_wrapper"
[ -f "$src/deadline_wrapper.cpp" ] || fail "the install lacks the example wrapper's sources ($src)"
[ -f "$prefix/share/doc/spmi/plugins.md" ] || fail "the install lacks the plugin guide"
logic=$(grep -cvE '^\s*($|//|#include|[{}]\s*$|namespace|} // namespace)' "$src/deadline_wrapper.cpp")
[ "$logic" -le 60 ] || fail "the example wrapper has $logic lines of its own logic (at most 60)"
cp -r "$src" "$T/src"
build_example "$T/src" "$T/build"
cp "$T/build/spmi_wrapper_deadline.so" "$user_dir/"
run 0 plugins
out_has "DeadlineWrapper"
pass "example wrapper ($logic lines of logic) built out of tree from the installed sources"

mkdir -p "$T/work"
cat >late.toml <<TOML
[task]
id = "late"
[task.backend]
type = "local"
[task.wrapper]
type = "deadline"
deadline = "1s"
command = "echo id=\$SPMI_ID v=\$V dir=\$(pwd); exec sleep 30"
cwd = "$T/work"
env = { V = "kept" }
stop_timeout = 2
TOML
run 0 load late.toml
started=$(date +%s)
run 0 start late
wait_for 10 is_inactive late || fail "the deadline did not end the task"
took=$(( $(date +%s) - started ))
[ "$took" -le 5 ] || fail "the task ended only after $took s (deadline 1 s)"
grep -qx "id=late v=kept dir=$T/work" "$SPMI_PATH/late/stdout" || fail "default features lost: $(cat "$SPMI_PATH/late/stdout")"
run 0 status late
out_has "Deadline: 1 s per attempt; reached 1 time(s)"
out_has "Restart policy: "  # the run protocol's line, kept by a wrapper that adds its own
out_has "Exit code: 130 (killed by SIGINT)"
grep -q "ran past its deadline of 1 s; stopping it" "$SPMI_PATH/late/wrapper.log" || fail "no log line in wrapper.log"
python3 - "$SPMI_PATH/late/run.json" <<'PY' || fail "run.json lacks the wrapper's facts"
import json, sys
facts = json.load(open(sys.argv[1]))["facts"]["DeadlineWrapper"]
assert facts == {"timed_out": True, "timeouts": 1}, facts
PY
run 0 status --json late
python3 - "$T/out" <<'PY' || fail "status --json lacks the wrapper's fields or facts"
import json, sys
entry = json.load(open(sys.argv[1]))["manageables"][0]
mine = entry["plugins"]["DeadlineWrapper"]
assert {k: mine[k] for k in ("deadline_seconds", "timeouts", "timed_out")} == {"deadline_seconds": 1.0, "timeouts": 1, "timed_out": True}, mine
assert mine["restart"] in ("no", "on-failure", "always"), mine  # the run protocol's own, kept beside
assert entry["facts"]["DeadlineWrapper"]["timeouts"] == 1, entry["facts"]
PY
pass "an attempt past its deadline is stopped; facts in run.json, status and status --json"

# With a restart policy, each attempt gets its own deadline; a quick one is never stopped.
cat >retry.toml <<'TOML'
[task]
id = "retry"
[task.backend]
type = "local"
[task.wrapper]
type = "deadline"
deadline = "700ms"
command = "sleep 30"
restart = "on-failure"
restart_delay = 0.1
max_restarts = 2
TOML
run 0 load retry.toml
run 0 start retry
is_failed() { "$SPMI" list 2>/dev/null | grep -qE "^$1 +failed"; }
wait_for 15 is_failed retry || fail "the restarted attempts did not end (and fail)"
run 0 status retry
out_has "reached 3 time(s)"
out_has "gave up restarting it"
cat >quick.toml <<'TOML'
[task]
id = "quick"
[task.backend]
type = "local"
[task.wrapper]
type = "deadline"
deadline = 5
command = "true"
TOML
run 0 load quick.toml
run 0 start quick
wait_for 10 is_inactive quick || fail "quick did not end"
run 0 status quick
out_has "Deadline: 5 s per attempt; never reached"
out_has "Exit code: 0"
pass "deadline per attempt with restarts; a task within its deadline is left alone"

# Its own key is checked at load, naming file and key; the default wrapper's keys are known to it.
cat >bad.toml <<'TOML'
[task]
id = "bad"
[task.backend]
type = "local"
[task.wrapper]
type = "deadline"
command = "true"
deadline = "soon"
TOML
run 3 load bad.toml
err_has "bad.toml: task.wrapper.deadline"
pass "bad deadline refused at load"
echo "sdk_wrapper: all passed"
