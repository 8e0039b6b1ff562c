#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack: links and files planted in root's own store (root-owned, 0700): `stdout` -> a root-only file
# (the task's output would be appended to it), `lock`/`alive` -> places where no file may appear (root
# would create them), files of another user (run.json, stdout), a manageable directory that is itself a
# link to another one, and one owned by redteam. spmi refuses each, naming the file and the fix; the
# root-only file is unchanged, no file appears at a link's target, the linked task never runs.
source "$(dirname "$0")/common.sh"

S="$SPMI_PATH"
SECRET="$T/root-only"
printf 'secret\n' >"$SECRET"
chmod 0600 "$SECRET"
MARK="$T/linked-task-ran"
for id in web web2 web3 web4 web5 web6; do
  task_toml "$T/$id.toml" "$id" "echo output of $id; sleep 1104.$TAG" local
done
run 0 load "$T/web.toml" "$T/web2.toml" "$T/web3.toml" "$T/web4.toml" "$T/web5.toml" "$T/web6.toml"
plant() {  # plant LINK TARGET: a symlink as redteam would leave it
  ln -s "$2" "$1"
  chown -h "$ATTACKER" "$1"
}

# stdout -> a root-only file
plant "$S/web/stdout" "$SECRET"
run 1 start web
err_has "$S/web/stdout is a symbolic link"
err_has "fix: rm $S/web/stdout"
run 1 logs web
err_has "$S/web/stdout is a symbolic link"
run 1 status web
err_has "$S/web/stdout is a symbolic link"
# lock and alive -> files root must not create
plant "$S/web2/lock" "$T/made-by-lock"
run 1 start web2
err_has "$S/web2/lock is a symbolic link"
run 1 clean web2
err_has "$S/web2/lock is a symbolic link"
plant "$S/web3/alive" "$T/made-by-alive"
run 1 start web3
err_has "$S/web3/alive is a symbolic link"
run 1 status web3
err_has "$S/web3/alive is a symbolic link"
sleep 1
[ "$(cat "$SECRET")" = "secret" ] || fail "the root-only file was changed: $(cat "$SECRET")"
[ ! -e "$T/made-by-lock" ] && [ ! -e "$T/made-by-alive" ] || fail "a file was created at a link's target"
pass "planted stdout, lock and alive links are refused by name; their targets are untouched"

# files of another user
printf '{"token":"x","wrapper_pid":1,"pid":1}\n' >"$S/web4/run.json"
chown "$ATTACKER" "$S/web4/run.json"
run 1 status web4
err_has "$S/web4/run.json is owned by $ATTACKER (uid $ATTACKER_UID), not by you (root); fix: chown root $S/web4/run.json"
run 1 start web4
err_has "$S/web4/run.json is owned by $ATTACKER"
# with an `alive` of redteam's (whose lock redteam could hold), kill would trust run.json's pids
: >"$S/web4/alive"
chown "$ATTACKER" "$S/web4/alive"
run 1 kill web4
err_has "$S/web4/alive is owned by $ATTACKER"
printf 'forged\n' >"$S/web5/stdout"
chown "$ATTACKER" "$S/web5/stdout"
run 1 logs web5
err_has "$S/web5/stdout is owned by $ATTACKER"
run 1 start web5
err_has "$S/web5/stdout is owned by $ATTACKER"
pass "files of another user in the store are refused by name, with the chown fix"

# a manageable directory that is a link (to a store whose task would run), and one redteam owns
mkdir -p "$T/other"
task_toml "$T/evil.toml" evil "touch $MARK; sleep 1105.$TAG" local
SPMI_PATH="$T/other/state" "$SPMI" load "$T/evil.toml" >/dev/null
mv "$T/other/state/evil" "$T/elsewhere"
plant "$S/evil" "$T/elsewhere"
run 1 start evil
err_has "$S/evil is a symbolic link"
err_has "fix: rm $S/evil"
chown "$ATTACKER" "$S/web6"
run 1 start web6
err_has "$S/web6 is owned by $ATTACKER (uid $ATTACKER_UID), not by you (root); fix: chown root $S/web6"
# list: the others are listed, each refused one is reported on stderr with its fix, exit 1.
run 1 list
out_has "web2"
err_has "manageable 'evil': $S/evil is a symbolic link"
err_has "manageable 'web6': $S/web6 is owned by $ATTACKER"
sleep 1
[ ! -e "$MARK" ] || fail "the task behind the linked manageable directory ran"
pass "a manageable directory that is a link or another user's is refused; list reports it and lists the rest"

# The fixes the messages give work: rm the link, chown the directory back.
rm "$S/web/stdout"
run 0 start web
wait_for 5 grep -q "output of web" "$S/web/stdout" || fail "web's output is not in its own stdout"
chown root "$S/web6"
run 0 start web6
run 0 kill web web6
pass "after the fixes the messages name, the manageables start"
