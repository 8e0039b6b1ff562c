# SPDX-License-Identifier: MIT
# Sourced by every end-to-end test: a private $SPMI_PATH, helpers to run spmi and check what it did.
set -euo pipefail
: "${SPMI:?SPMI must name the spmi binary}"

# The source tree, found before we move into the test directory.
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$(mktemp -d /tmp/spmi-test.XXXXXX)
export SPMI_PATH="$T/state"
unset SPMI_PLUGIN_PATH
cd "$T"
# Unique among the test scripts running at once on this machine (it is this script's pid): tests that
# count task processes by command line give their tasks this tag (`sleep 1101.$TAG`), so another copy
# of the suite running beside this one (a CI run and a developer's) is never counted.
TAG=$$

cleanup() {
  # Leave no task running: kill whatever is still active in this test's state directory.
  "$SPMI" kill '.*' >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$T/out" ] && { echo "--- stdout"; cat "$T/out"; } >&2; [ -f "$T/err" ] && { echo "--- stderr"; cat "$T/err"; } >&2; exit 1; }
pass() { echo "ok: $*"; }

need() { command -v "$1" >/dev/null 2>&1 || { echo "SKIP: $1 is not installed"; exit 77; }; }

# run EXPECTED_RC spmi-args...: runs spmi, output in $T/out and $T/err, and checks the exit status.
run() {
  local want=$1; shift
  local rc=0
  "$SPMI" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
  [ "$rc" = "$want" ] || fail "spmi $* exited $rc, expected $want"
}
out_has() { grep -qF -- "$1" "$T/out" || fail "stdout lacks: $1"; }
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks: $1"; }
out_lacks() { ! grep -qF -- "$1" "$T/out" || fail "stdout has: $1"; }

# Waits up to $1 seconds for a command to succeed.
wait_for() {
  local seconds=$1; shift
  local i
  for i in $(seq 1 $((seconds * 20))); do "$@" && return 0; sleep 0.05; done
  return 1
}
is_active() { "$SPMI" list 2>/dev/null | grep -qE "^$1 +active"; }
is_inactive() { "$SPMI" list 2>/dev/null | grep -qE "^$1 +inactive"; }

# task_toml FILE ID COMMAND [BACKEND] [extra wrapper lines...]
task_toml() {
  local file=$1 id=$2 command=$3 backend=${4:-screen}; shift 4 || shift $#
  {
    printf '[task]\nid = "%s"\ncomment = "Comment of %s"\n[task.backend]\ntype = "%s"\n' "$id" "$id" "$backend"
    printf '[task.wrapper]\ntype = "default"\ncommand = '"'''"'%s'"'''"'\nmixed_stdout = true\n' "$command"
    local line
    for line in "$@"; do printf '%s\n' "$line"; done
  } >"$file"
}

# install_sdk: `cmake --install`s the build under $T/prefix, as a third party has spmi; sets `prefix`,
# SPMI (the installed spmi), HOME ($T/home) and `user_dir` (that user's plugin directory, made).
install_sdk() {
  prefix="$T/prefix"
  cmake --install "$SPMI_BUILD_DIR" --prefix "$prefix" >/dev/null || fail "cmake --install"
  SPMI="$prefix/bin/spmi"
  export HOME="$T/home"
  user_dir="$HOME/.local/lib/spmi/plugins"
  mkdir -p "$user_dir"
}

# build_example SRC BUILD [cmake args...]: configures and builds an example plugin from SRC in BUILD
# against the installed SDK ($prefix) alone; fails the test with the build's log.
build_example() {
  local src=$1 build=$2; shift 2
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" "$@" >"$T/cmake.log" 2>&1 \
    || { cat "$T/cmake.log" >&2; fail "configuring $src against the SDK"; }
  cmake --build "$build" >"$T/build.log" 2>&1 || { cat "$T/build.log" >&2; fail "building $src"; }
}
