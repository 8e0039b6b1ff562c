# SPDX-License-Identifier: MIT
# Sourced by every security test (one script per attack). On top of the end-to-end helpers
# (tests/cli/common.sh: a private $SPMI_PATH under $T, run/out_has/err_has...), it makes a temporary
# unprivileged user, the attacker, and removes it again when the test ends.
#
#   as_attacker CMD...   runs CMD as that user (no supplementary groups, no spmi variables)
#   ATTACKER, ATTACKER_UID, ATTACKER_GID, ATTACKER_HOME
#   shared_dir NAME      a directory $T/NAME the attacker can write (mode 1777 without the sticky bit
#                        would be worse: it is made 0777, as `mkdir -m777 /tmp/x` would)
#
# The tests need root (to make the user and to be the victim whose privileges matter); as another
# user they are skipped (exit 77).
source "$(dirname "${BASH_SOURCE[0]}")/../cli/common.sh"

if [ "$(id -u)" != 0 ]; then
  echo "SKIP: the security tests run as root (they make a temporary user)"
  exit 77
fi
need useradd
need runuser

# The attacker: a user of its own per test script (tests run in parallel), with a home under $T.
ATTACKER="spmi-rt$$"
ATTACKER_HOME="$T/home-$ATTACKER"
# $T is 0700 (mktemp); the attacker must reach what the test shares with it.
chmod 0711 "$T"
make_attacker() {
  local i
  # useradd locks /etc/passwd; another test making its user at the same moment makes it fail at once.
  for i in $(seq 1 50); do
    useradd --no-create-home --home-dir "$ATTACKER_HOME" --shell /bin/sh --user-group "$ATTACKER" \
      2>"$T/useradd.err" && break
    grep -q "exists" "$T/useradd.err" && break
    sleep 0.2
  done
  id -u "$ATTACKER" >/dev/null 2>&1 || { cat "$T/useradd.err" >&2; echo "FAIL: cannot make user $ATTACKER" >&2; exit 1; }
  mkdir -p "$ATTACKER_HOME"
  chown "$ATTACKER:$ATTACKER" "$ATTACKER_HOME"
  chmod 0755 "$ATTACKER_HOME"
  ATTACKER_UID=$(id -u "$ATTACKER")
  ATTACKER_GID=$(id -g "$ATTACKER")
}
remove_attacker() {
  # Whatever the attacker left running goes first (userdel refuses a user with processes).
  pkill -KILL -u "$ATTACKER" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    userdel "$ATTACKER" 2>/dev/null && return 0
    id -u "$ATTACKER" >/dev/null 2>&1 || return 0
    sleep 0.2
  done
  echo "WARNING: could not remove user $ATTACKER" >&2
}
security_cleanup() {
  remove_attacker
  cleanup
}
trap security_cleanup EXIT
make_attacker

as_attacker() {
  env -u SPMI_PATH -u SPMI_PLUGIN_PATH HOME="$ATTACKER_HOME" runuser -u "$ATTACKER" -- "$@"
}

shared_dir() {
  mkdir -p "$T/$1"
  chmod 0777 "$T/$1"
  echo "$T/$1"
}

# For the tests of linear time: each timed command must answer within budget_ms.
# The budget is CPU time (user + system) of spmi, so that a busy machine (CI runs tests in parallel)
# can't fail it; the wall clock only has to stay under a bound that catches a hang. A sanitizer build
# is many times slower.
budget_ms=1000 wall_ms=10000
[ -n "${SPMI_TEST_SANITIZED:-}" ] && budget_ms=30000 wall_ms=120000
# timed_spmi OUT ARGS...: runs spmi ARGS, stdout to OUT and stderr to $T/err, killed after $wall_ms;
# sets rc (its exit status), cpu (the CPU milliseconds it used, user + system) and wall (milliseconds).
timed_spmi() {
  local out=$1; shift
  local TIMEFORMAT='%3R %3U %3S' real user sys
  rc=0
  { time timeout -s KILL $((wall_ms / 1000)) "$SPMI" "$@" >"$out" 2>"$T/err" </dev/null || rc=$?; } 2>"$T/time"
  # The last line: bash reports a job it had to kill ("Killed ...") on the lines before.
  read -r real user sys < <(tail -n 1 "$T/time")
  [[ "$real $user $sys" =~ ^[0-9]+\.[0-9]{3}\ [0-9]+\.[0-9]{3}\ [0-9]+\.[0-9]{3}$ ]] ||
    fail "spmi $*: cannot read its times from: $(cat "$T/time") (exit status $rc)"
  wall=$((10#${real/./})) cpu=$((10#${user/./} + 10#${sys/./}))
}

# hold_ofd_lock FILE: a background process holds an OFD write lock on FILE (as a wrapper holds `alive`),
# until it is killed; its pid is in $locker.
hold_ofd_lock() {
  : >"$T/locker.out"  # now: the background child's own truncation may come after the wait below looks
  python3 - "$1" >"$T/locker.out" <<'EOF' &
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
print("locked", flush=True)
time.sleep(600)
EOF
  locker=$!
  wait_for 10 grep -qx locked "$T/locker.out" || fail "the lock holder did not lock $1"
}
