#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack: root's state directory where another user can write it.
#  1. redteam: `mkdir -m777 /tmp/x`; root: `SPMI_PATH=/tmp/x spmi load web.toml`. Refused now, with the
#     chmod (and chown) that fixes it; nothing is written there.
#  2. root's store lives in a directory redteam can write (0777) or owns: redteam renames root's store
#     away and puts its own in its place, whose `web` runs redteam's command. root's `spmi start web`
#     refuses (naming the parent and its fix), and redteam's command never runs as root.
source "$(dirname "$0")/common.sh"

as_attacker test -x "$SPMI" || { echo "SKIP: the attacker can't run $SPMI"; exit 77; }
MARK="$T/ran-as-root"   # redteam's command writes the uid that ran it here; only root could
no_mark() { sleep 1; [ ! -e "$MARK" ] || fail "redteam's command ran as uid $(cat "$MARK")"; }

# A /tmp of our own: root's, sticky, writable by all.
mkdir -m 1777 "$T/tmp"
task_toml "$T/web.toml" web "sleep 1101.$TAG" local
chmod 0644 "$T/web.toml"
# redteam's task, with the same ID.
task_toml "$T/evil.toml" web "id -u >$MARK; sleep 1102.$TAG" local
chmod 0644 "$T/evil.toml"

# --- 1. a 0777 state directory of redteam's
X="$T/tmp/x"
as_attacker mkdir -m 777 "$X"
export SPMI_PATH="$X"
run 1 load "$T/web.toml"
err_has "$X is owned by $ATTACKER (uid $ATTACKER_UID), not by you (root)"
err_has "writable by group and others (mode 0777): only its owner may write it"
err_has "fix: chown root $X && chmod go-w $X, or use a state directory of your own (SPMI_PATH)"
[ -z "$(ls -A "$X")" ] || fail "root wrote into $X: $(ls -A "$X")"
run 1 list
err_has "fix: chown root $X && chmod go-w $X"
# Root's own 0777 directory: the chmod alone.
mkdir -m 777 "$T/tmp/y"
export SPMI_PATH="$T/tmp/y"
run 1 list
err_has "$T/tmp/y is writable by group and others (mode 0777): only its owner may write it; fix: chmod go-w $T/tmp/y"
pass "a state directory others can write is refused, with the chmod/chown fix"

# --- 2. the rename attack, in a parent redteam can write, then in one redteam owns
attack() {  # attack PARENT FIX
  local parent=$1 fix=$2
  # root's store, made where it is safe, then kept in PARENT (as an existing setup would be).
  export SPMI_PATH="$T/safe/state"
  rm -rf "$T/safe"
  run 0 load "$T/web.toml"
  mv "$T/safe/state" "$parent/state"
  export SPMI_PATH="$parent/state"
  run 1 start web
  err_has "$parent, a parent directory of the state directory $parent/state"
  err_has "another user could swap the state directory"
  err_has "$fix"
  # redteam swaps root's store for its own (made in its home, then moved in).
  as_attacker rm -rf "$ATTACKER_HOME/store"
  as_attacker env SPMI_PATH="$ATTACKER_HOME/store" "$SPMI" load "$T/evil.toml" >/dev/null ||
    fail "redteam could not load its task"
  as_attacker mv "$parent/state" "$parent/root-state"
  as_attacker mv "$ATTACKER_HOME/store" "$parent/state"
  run 1 start web
  err_has "$parent/state is owned by $ATTACKER (uid $ATTACKER_UID), not by you (root); fix: chown root $parent/state"
  run 1 list
  run 1 status web
  no_mark
}
attack "$(shared_dir shared)" "fix: chmod go-w $T/shared"
mkdir "$T/owned"
chown "$ATTACKER:$ATTACKER" "$T/owned"
attack "$T/owned" "is owned by $ATTACKER (uid $ATTACKER_UID), neither root nor you (root)"
err_has "fix: chown root $T/owned"
pass "a store in a directory redteam can write or owns is refused; redteam's swapped-in command never ran as root"
