#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# spmi startup: the crontab @reboot line (one per store, foreign lines kept, % and spaces quoted, runs
# as cron would run it) and the systemd user unit (text, systemctl and loginctl calls, systemd-analyze
# verify), each installed, shown and removed. crontab, systemctl and loginctl are PATH shims that record
# their argv and stdin; HOME is private, so nothing of the real user is touched.
source "$(dirname "$0")/common.sh"

export HOME="$T/home"
mkdir -p "$HOME" "$T/bin" "$T/empty"
unset XDG_CONFIG_HOME
REAL_PATH=$PATH
export PATH="$T/bin:$PATH"
export CALLS="$T/calls" CRONTAB="$T/crontab"
: >"$CALLS"
cat >"$T/bin/crontab" <<'SH'
#!/bin/sh
echo "crontab $*" >>"$CALLS"
case "$1" in
-l) [ -f "$CRONTAB" ] || { echo "no crontab for $(id -un)" >&2; exit 1; }; cat "$CRONTAB" ;;
-) cat >"$CRONTAB.new" && mv "$CRONTAB.new" "$CRONTAB"; { echo "--- stdin"; cat "$CRONTAB"; } >>"$CALLS" ;;
*) echo "shim: unexpected $*" >&2; exit 2 ;;
esac
SH
cat >"$T/bin/systemctl" <<'SH'
#!/bin/sh
echo "systemctl $*" >>"$CALLS"
SH
cat >"$T/bin/loginctl" <<'SH'
#!/bin/sh
echo "loginctl $*" >>"$CALLS"
[ ! -e "$CALLS.linger_fails" ] || { echo "Could not enable linger: Access denied" >&2; exit 1; }
SH
chmod +x "$T/bin/"*
exe=$(readlink -f "$SPMI")
user=$(id -un)
# A store path with a space and a %, which cron would turn into a newline unless escaped.
export SPMI_PATH="$T/my store %x"
mkdir -p "$SPMI_PATH"
line="@reboot SPMI_PATH='$SPMI_PATH' '$exe' resurrect >> '$SPMI_PATH/resurrect.log' 2>&1 # spmi-startup $SPMI_PATH"
line=${line//%/\\%}

# Shown, not installed: no tool is called.
run 0 startup --method cron
out_has "Method: cron (asked for with --method)"
out_has "$line"
err_has "Nothing was changed"
[ ! -s "$CALLS" ] && [ ! -e "$CRONTAB" ] || fail "showing the plan called a tool: $(cat "$CALLS")"
if [ ! -d /run/systemd/system ]; then
  run 0 startup --install --dry-run
  out_has "Method: cron (systemd is not running as PID 1 here (/run/systemd/system is missing))"
  [ ! -s "$CALLS" ] || fail "--dry-run called a tool"
fi
pass "startup shows the cron line and changes nothing"

# Installed twice beside foreign lines: one line of ours, the foreign ones kept.
printf 'MAILTO=ops@example.org\n0 * * * * /bin/true # foreign\n' >"$CRONTAB"
run 0 startup --install --method cron
out_has "added to $user's crontab: $line"
run 0 startup --install --method cron
out_has "already has the line"
[ "$(grep -cF "$line" "$CRONTAB")" = 1 ] || fail "crontab: $(cat "$CRONTAB")"
[ "$(grep -c 'spmi-startup' "$CRONTAB")" = 1 ] || fail "more than one spmi line: $(cat "$CRONTAB")"
grep -qx 'MAILTO=ops@example.org' "$CRONTAB" && grep -qx '0 \* \* \* \* /bin/true # foreign' "$CRONTAB" ||
  fail "foreign lines lost: $(cat "$CRONTAB")"
grep -qx 'crontab -l' "$CALLS" && grep -qx 'crontab -' "$CALLS" || fail "calls: $(cat "$CALLS")"
pass "cron: one line after two installs, foreign lines kept"

# The line runs as cron runs it (\% becomes %, then /bin/sh): resurrect logs into the store.
command=${line#@reboot }
(cd / && env -i PATH=/usr/bin:/bin sh -c "${command//\\%/%}") || fail "the cron command failed"
grep -q "nothing selected" "$SPMI_PATH/resurrect.log" || fail "resurrect.log: $(cat "$SPMI_PATH/resurrect.log" 2>&1)"
pass "cron: the line runs spmi resurrect on the right store"

# A second store gets its own line; uninstalling the first removes only its line.
SPMI_PATH="$T/other" run 0 startup --install --method cron
[ "$(grep -c 'spmi-startup' "$CRONTAB")" = 2 ] || fail "second store: $(cat "$CRONTAB")"
run 0 startup --uninstall --method cron
out_has "removed from $user's crontab"
! grep -qF "$line" "$CRONTAB" || fail "our line is still there"
grep -q "# spmi-startup $T/other\$" "$CRONTAB" && grep -qx 'MAILTO=ops@example.org' "$CRONTAB" ||
  fail "uninstall removed too much: $(cat "$CRONTAB")"
run 0 startup --uninstall --method cron
out_has "has no line for"
pass "cron: uninstall removes only our line"

# No crontab program: say which package, change nothing.
cp "$CRONTAB" "$T/crontab.before"
PATH="$T/empty" run 1 startup --install --method cron
err_has "crontab: not found in PATH; install the cron package"
cmp -s "$CRONTAB" "$T/crontab.before" || fail "crontab changed without a crontab program"
pass "cron: a missing crontab is named, nothing changes"

# systemd, forced: the unit, the systemctl calls and linger.
unit="$HOME/.config/systemd/user/spmi-resurrect.service"
: >"$CALLS"
run 0 startup --method systemd
out_has "Would write $unit:"
out_has "loginctl enable-linger $user"
[ ! -e "$unit" ] && [ ! -s "$CALLS" ] || fail "showing the systemd plan changed something"
run 0 startup --install --method systemd
out_has "wrote $unit"
for want in "# spmi-startup $SPMI_PATH" Type=oneshot RemainAfterExit=yes "Environment=\"SPMI_PATH=$T/my store %%x\"" \
  "ExecStart=\"$exe\" resurrect" KillMode=process WantedBy=default.target; do
  grep -qxF "$want" "$unit" || fail "unit lacks '$want': $(cat "$unit")"
done
printf 'systemctl --user daemon-reload\nsystemctl --user enable spmi-resurrect.service\nloginctl enable-linger %s\n' "$user" |
  cmp -s - "$CALLS" || fail "calls: $(cat "$CALLS")"
if command -v systemd-analyze >/dev/null; then
  verify_err=$(PATH=$REAL_PATH XDG_RUNTIME_DIR=$(mktemp -d "$T/xdg.XXXXXX") systemd-analyze --user verify "$unit" 2>&1 >/dev/null) || true
  [ -z "$verify_err" ] || fail "systemd-analyze verify: $verify_err"
  pass "systemd-analyze --user verify: no complaint"
fi
SPMI_PATH="$T/other" run 1 startup --install --method systemd
err_has "it starts the tasks of another store"
touch "$CALLS.linger_fails"
run 0 startup --install --method systemd
err_has "loginctl enable-linger $user\` failed (exit 1): Could not enable linger: Access denied"
err_has "ask an administrator"
rm "$CALLS.linger_fails"
pass "systemd: unit text, systemctl calls, enable-linger (and its failure)"

: >"$CALLS"
run 0 startup --uninstall
[ ! -e "$unit" ] || fail "the unit is still there"
grep -qx 'systemctl --user disable spmi-resurrect.service' "$CALLS" || fail "no disable: $(cat "$CALLS")"
grep -q "# spmi-startup $T/other\$" "$CRONTAB" || fail "systemd uninstall touched the other store's cron line"
pass "systemd: uninstall disables and removes the unit"

# Paths that can't be used at boot.
SPMI_PATH=relative/store run 2 startup
err_has "is relative"
echo "startup: all passed"
