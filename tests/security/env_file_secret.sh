#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack: get a secret printed. `env_file = "/etc/shadow"` (a typo, or a descriptor someone else wrote)
# made `start` fail quoting the bad line — a password hash — into start's error, `status`, run.json and
# wrapper.log. A bad env_file line is now named by file and line number only.
source "$(dirname "$0")/common.sh"

secret='SECRETxK9vQ2'
# A fake shadow file: a valid variable, a comment, then a line without '=' holding the "hash".
printf 'GOOD=1\n# a comment\nroot:$y$j9T$%sSALT$%sHASH:19000:0:99999:7:::\n' "$secret" "$secret" >"$T/shadow"
chmod 0600 "$T/shadow"
task_toml s.toml shadowed 'echo started' local "env_file = \"$T/shadow\""
# A bad variable name holding the secret (left of '=').
printf 'GOOD=1\n%s-name=value\n' "$secret" >"$T/badname.env"
task_toml n.toml badname 'echo started' local "env_file = \"$T/badname.env\""
run 0 load s.toml n.toml

not_active() { ! is_active "$1"; }

# no_secret WHAT FILE...: the secret appears in none of the files.
no_secret() {
  local what=$1; shift
  if grep -l -- "$secret" "$@" >/dev/null 2>&1; then
    fail "$what shows the secret: $(grep -h -- "$secret" "$@" | head -3)"
  fi
}

for case in "shadowed $T/shadow:3:" "badname $T/badname.env:2:"; do
  id=${case%% *} where=${case#* }
  rc=0
  "$SPMI" start "$id" >"$T/out" 2>"$T/err" </dev/null || rc=$?
  [ "$rc" != 0 ] || fail "start $id with a bad env_file line succeeded"
  err_has "$where"
  no_secret "start $id (stdout, stderr)" "$T/out" "$T/err"
  pass "start $id fails naming $where, without the line's text"
  wait_for 10 not_active "$id" || fail "$id did not end"

  "$SPMI" status "$id" >"$T/out" 2>"$T/err" </dev/null || true
  grep -qF -- "$where" "$T/out" "$T/err" || fail "status $id does not name $where"
  no_secret "status $id" "$T/out" "$T/err"
  "$SPMI" status --json "$id" >"$T/out" 2>"$T/err" </dev/null || true
  no_secret "status --json $id" "$T/out" "$T/err"
  [ -f "$SPMI_PATH/$id/run.json" ] || fail "no run.json for $id"
  pass "status and status --json of $id show the place, not the secret"
done

# Nothing under the state directory holds it: run.json, wrapper.log, the output files...
if grep -rl -- "$secret" "$SPMI_PATH" >"$T/found" 2>/dev/null; then
  fail "files under \$SPMI_PATH hold the secret: $(tr '\n' ' ' <"$T/found")"
fi
pass "no file under \$SPMI_PATH holds the secret"
echo "env_file_secret: all passed"
