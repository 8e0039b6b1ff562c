#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad descriptors: exit status 3, a message naming the file and key, and nothing loaded (all or nothing).
source "$(dirname "$0")/common.sh"

task_toml good.toml good 'true'

check_refused() { # FILE MESSAGE...
  run 3 load good.toml "$1"
  shift
  local message
  for message in "$@"; do err_has "$message"; done
  err_has "nothing was loaded"
  run 0 list
  err_has "Registered 0 manageables"
}

printf '[task]\nid = "x"\n[task.backend]\ntype = "screen"\n[task.wrapper]\ntype = "default"\n' > no_command.toml
check_refused no_command.toml "no_command.toml: task.wrapper: missing key 'command'"

task_toml typo.toml typo 'true' scren
check_refused typo.toml "typo.toml: task.backend.type: unknown backend type 'scren': no plugin exports class ScrenBackend" \
  "did you mean 'screen'?" "installed backends: local, screen, slurm, tmux"

printf '{"tsk": {"id": "x"}}' > kind.json
check_refused kind.json "kind.json: tsk: unknown manageable type 'tsk': no plugin exports class TskManageable" \
  "did you mean 'task'?"

printf 'task:\n  id: "../escape"\n' > escape.yaml
check_refused escape.yaml "escape.yaml: task.id: '../escape' is not a valid ID"

printf 'task:\n  id: x\n  backend: screen\n' > backend_string.yaml
check_refused backend_string.yaml "backend_string.yaml: task.backend: expected a table, got a string"

task_toml mixed.toml mixed 'true' screen
sed -i 's/mixed_stdout = true/mixed_stdout = "yes"/' mixed.toml
check_refused mixed.toml "mixed.toml: task.wrapper.mixed_stdout: expected true or false, got a string"

printf '[task\nid = 1\n' > syntax.toml
check_refused syntax.toml "syntax.toml:1:" "invalid TOML"

printf '{"task": {"id": "x",}' > syntax.json
check_refused syntax.json "syntax.json: invalid JSON"

printf 'task: [a, b\n' > syntax.yaml
check_refused syntax.yaml "invalid YAML"

printf '[task]\nid = "a"\n[other]\nid = "b"\n' > two.toml
check_refused two.toml "two.toml: expected one top-level table naming the manageable type, found 2"

echo 'id = "x"' > notes.txt
check_refused notes.txt "notes.txt: unknown descriptor format '.txt'"

check_refused missing.toml "missing.toml: cannot read"

task_toml dup.toml good 'true'
run 3 load good.toml dup.toml
err_has "dup.toml: task.id: 'good' is also the ID in good.toml"
# Durations, sizes and signals are read the same way by every key: a bad one names the file and key.
task_toml delay.toml delay 'true' local 'restart_delay = "x"'
check_refused delay.toml "delay.toml: task.wrapper.restart_delay: 'x' is not a duration; use a number of seconds, or a number with ms, s, m, h or d"
task_toml window.toml window 'true' local 'restart_window = "400d"'
check_refused window.toml "window.toml: task.wrapper.restart_window: '400d' is out of range; use 0.001 to 31536000 seconds"
task_toml kept.toml kept 'true' local 'output_files_kept = 2.5'
check_refused kept.toml "kept.toml: task.wrapper.output_files_kept: 2.5 is not a whole number; use a whole number from 0 to 1000"
# ... and the forms with units load.
task_toml units.toml units 'true' local 'stop_timeout = "1m"' 'restart_delay = "500ms"' 'restart_delay_max = "1.5m"' \
  'restart_window = "2h"' 'stop_signal = 15' 'max_output_size = "1MiB"' 'env = { A_1 = "x" }'
run 0 load units.toml
err_has "Loaded 1 manageable"
run 0 list
out_has "units"
pass "durations, sizes and signals: forms with units load, bad values name the file and key"

echo "bad_descriptors: all passed"
