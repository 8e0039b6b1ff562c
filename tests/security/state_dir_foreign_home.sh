#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack: root runs spmi with another user's HOME (as `sudo -E` does) and no SPMI_PATH, so the state
# directory is that user's ~/.spmi, where redteam loaded a `web` whose command would run as root.
# Refused now, naming ~/.spmi and the chown that fixes it; redteam's command never runs.
source "$(dirname "$0")/common.sh"

as_attacker test -x "$SPMI" || { echo "SKIP: the attacker can't run $SPMI"; exit 77; }
MARK="$T/ran-as-root"
task_toml "$ATTACKER_HOME/evil.toml" web "id -u >$MARK; sleep 1103.$TAG" local
chown "$ATTACKER" "$ATTACKER_HOME/evil.toml"
as_attacker "$SPMI" load "$ATTACKER_HOME/evil.toml" >/dev/null || fail "redteam could not load its task"
[ -d "$ATTACKER_HOME/.spmi/web" ] || fail "redteam's ~/.spmi was not made"

as_root_with_home() {  # what `sudo -E spmi ...` does: root, the caller's HOME, no SPMI_PATH
  local want=$1; shift
  local rc=0
  env -u SPMI_PATH HOME="$ATTACKER_HOME" "$SPMI" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
  [ "$rc" = "$want" ] || fail "spmi $* (HOME=$ATTACKER_HOME) exited $rc, expected $want"
}
STORE="$ATTACKER_HOME/.spmi"
FIX="$STORE is owned by $ATTACKER (uid $ATTACKER_UID), not by you (root); fix: chown root $STORE, or use a state directory of your own (SPMI_PATH)"
as_root_with_home 1 list
err_has "$FIX"
as_root_with_home 1 start web
err_has "$FIX"
# ~ itself is redteam's too: said as well.
err_has "$ATTACKER_HOME, a parent directory of the state directory $STORE, is owned by $ATTACKER"
as_root_with_home 1 status web
as_root_with_home 1 resurrect
sleep 1
[ ! -e "$MARK" ] || fail "redteam's command ran as uid $(cat "$MARK")"
pass "root with redteam's HOME refuses redteam's ~/.spmi (chown fix); redteam's command never ran"
