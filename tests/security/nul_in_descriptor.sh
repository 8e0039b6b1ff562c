#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack: hide part of a command behind an escaped NUL. JSON "\u0000" loaded: `status` showed the whole
# command while /bin/sh ran only the part before the NUL (and a path or variable would be cut the same
# way). A NUL in any string or key of a descriptor (TOML "\u0000", YAML "\0", JSON "\u0000") is now
# refused at load: exit 3, naming the file and the key path, nothing loaded.
source "$(dirname "$0")/common.sh"

# refused FILE KEYPATH: `load FILE` exits 3 naming FILE and KEYPATH, and nothing is loaded.
refused() {
  local file=$1 keypath=$2
  run 3 load "$file"
  err_has "$file: $keypath"
  err_has "contains a NUL character"
  run 0 list
  err_has "Registered 0 manageables"
  [ -z "$(ls -A "$SPMI_PATH" 2>/dev/null | grep -v '^\.')" ] || fail "load of $file left $(ls -A "$SPMI_PATH")"
  pass "$file: refused naming $keypath"
}

# TOML: "\u0000" in the command, comment, an env value, cwd, and a key.
toml() { # FILE [task] body lines...
  local file=$1; shift
  printf '[task]\nid = "t"\n%s\n[task.backend]\ntype = "local"\n[task.wrapper]\ntype = "default"\n' "${1:-}" >"$file"
  shift
  local line
  for line in "$@"; do printf '%s\n' "$line" >>"$file"; done
}
toml cmd.toml '' 'command = "echo safe\u0000; rm -rf /tmp/x"'
refused cmd.toml task.wrapper.command
toml comment.toml 'comment = "hi\u0000there"' 'command = "true"'
refused comment.toml task.comment
toml env.toml '' 'command = "true"' 'env = { A = "1\u0000B=2" }'
refused env.toml task.wrapper.env.A
toml cwd.toml '' 'command = "true"' 'cwd = "/tmp\u0000/etc"'
refused cwd.toml task.wrapper.cwd
toml key.toml '' 'command = "true"' 'env = { "A\u0000B" = "1" }'
refused key.toml "task.wrapper.env: a key 'A\\x00B'"

# YAML: "\0" in double quotes.
yaml() { # FILE wrapper-lines...
  local file=$1; shift
  printf 'task:\n  id: y\n  backend:\n    type: local\n  wrapper:\n    type: default\n' >"$file"
  local line
  for line in "$@"; do printf '    %s\n' "$line" >>"$file"; done
}
yaml cmd.yaml 'command: "echo safe\0; rm -rf /tmp/x"'
refused cmd.yaml task.wrapper.command
printf 'task:\n  id: y\n  comment: "a\\0b"\n  backend: {type: local}\n  wrapper: {type: default, command: "true"}\n' >comment.yaml
refused comment.yaml task.comment
yaml env.yaml 'command: "true"' 'env: {A: "x\0y"}'
refused env.yaml task.wrapper.env.A
yaml cwd.yaml 'command: "true"' 'cwd: "/tmp\0/etc"'
refused cwd.yaml task.wrapper.cwd
yaml key.yaml 'command: "true"' 'env: {"A\0B": "1"}'
refused key.yaml "task.wrapper.env: a key 'A\\x00B'"

# JSON: "\u0000".
json() { # FILE comment wrapper-members
  printf '{"task": {"id": "j", "comment": "%s", "backend": {"type": "local"}, "wrapper": {"type": "default", %s}}}\n' \
    "$2" "$3" >"$1"
}
json cmd.json 'c' '"command": "echo safe\u0000; rm -rf /tmp/x"'
refused cmd.json task.wrapper.command
json comment.json 'a\u0000b' '"command": "true"'
refused comment.json task.comment
json env.json 'c' '"command": "true", "env": {"A": "x\u0000y"}'
refused env.json task.wrapper.env.A
json cwd.json 'c' '"command": "true", "cwd": "/tmp\u0000/etc"'
refused cwd.json task.wrapper.cwd
json key.json 'c' '"command": "true", "env": {"A\u0000B": "1"}'
refused key.json "task.wrapper.env: a key 'A\\x00B'"

# A NUL in one file of several: nothing at all is loaded.
json good.json 'c' '"command": "true"'
run 3 load good.json cmd.toml
run 0 list
err_has "Registered 0 manageables"
pass "a NUL in one of two files loads neither"
echo "nul_in_descriptor: all passed"
