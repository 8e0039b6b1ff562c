#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The guide's descriptor in TOML, YAML (.yaml and .yml) and JSON: each loads, runs and shows the same.
source "$(dirname "$0")/common.sh"
need screen

cat > cal.toml <<'D'
[task] # type of manageable
id = "cal_toml" # ID of manageable
comment = "Prints calendar to stdout." # comment
[task.backend] # backend section
type = "screen" # backend type
[task.wrapper] # wrapper section
type = "default" # type of wrapper
command = "echo calendar; echo oops >&2" # command to start
mixed_stdout = true # mix stdout and stderr files or not
D
cat > cal.yaml <<'D'
task:
  id: cal_yaml
  comment: Prints calendar to stdout.
  backend:
    type: screen
  wrapper:
    type: default
    command: echo calendar; echo oops >&2
    mixed_stdout: true
D
sed 's/cal_yaml/cal_yml/' cal.yaml > cal.yml
cat > cal.json <<'D'
{
  "task": {
    "id": "cal_json",
    "comment": "Prints calendar to stdout.",
    "backend": {
      "type": "screen"
    },
    "wrapper": {
      "type": "default",
      "command": "echo calendar; echo oops >&2",
      "mixed_stdout": true
    }
  }
}
D
# The same task with mixed_stdout = false keeps stderr apart.
sed -e 's/cal_json/cal_split/' -e 's/"mixed_stdout": true/"mixed_stdout": false/' cal.json > split.json

run 0 load cal.toml cal.yaml cal.yml cal.json split.json
err_has "Loaded 5 manageables"
run 0 start 'cal_.*'
err_has "Started 5 manageables"
for id in cal_toml cal_yaml cal_yml cal_json cal_split; do
  wait_for 5 is_inactive $id || fail "$id did not finish"
  run 0 status $id
  out_has "$id (task) - Prints calendar to stdout."
  out_has "Backend type: screen"
  out_has "Wrapper type: default"
  out_has "Command: echo calendar; echo oops >&2"
  out_has "Exit code: 0"
  out_has "calendar"
done
grep -qx oops "$SPMI_PATH/cal_toml/stdout" || fail "mixed_stdout = true: stderr not in stdout"
! grep -q oops "$SPMI_PATH/cal_split/stdout" || fail "mixed_stdout = false: stderr went to stdout"
grep -qx oops "$SPMI_PATH/cal_split/stderr" || fail "mixed_stdout = false: no stderr file"
# The descriptor is kept as loaded.
cmp -s cal.yaml "$SPMI_PATH/cal_yaml/descriptor.yaml" || fail "descriptor not kept as loaded"
echo "formats: all passed"
