#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A batch of starts, stops or kills makes its launch records durable with one syncfs(2), not an fsync
# each in turn; a stop's or kill's wanted-down record is synced before the first signal.
source "$(dirname "$0")/common.sh"
need strace

for id in b1 b2 b3; do task_toml "$id.toml" "$id" 'sleep 1000' local; done
run 0 load b1.toml b2.toml b3.toml

# trace OUT CMD...: strace of the spmi process itself (not the wrappers it starts) into OUT.
# (LeakSanitizer can't run under ptrace: in a sanitized build its leak check is off for the traced call.)
trace() {
  local out=$1; shift
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -qq -e trace=fsync,syncfs,pidfd_send_signal,kill -o "$out" "$SPMI" "$@" >"$T/out" 2>"$T/err" </dev/null
}
count() { grep -c "^$1(" "$2" || true; }

trace "$T/start.tr" start 'b.*' || fail "start failed: $(cat "$T/err")"
[ "$(count fsync "$T/start.tr")" = 0 ] || fail "start fsynced each launch record: $(cat "$T/start.tr")"
[ "$(count syncfs "$T/start.tr")" = 1 ] || fail "start did not sync once: $(cat "$T/start.tr")"
for id in b1 b2 b3; do grep -q '"wanted":"up"' "$SPMI_PATH/$id/launch.json" || fail "$id: launch.json not up"; done
pass "start of 3: one syncfs, no fsync"

trace "$T/stop.tr" stop 'b.*' || fail "stop failed: $(cat "$T/err")"
[ "$(count fsync "$T/stop.tr")" = 0 ] || fail "stop fsynced each launch record: $(cat "$T/stop.tr")"
[ "$(count syncfs "$T/stop.tr")" = 1 ] || fail "stop did not sync once: $(cat "$T/stop.tr")"
head -1 "$T/stop.tr" | grep -q '^syncfs(' || fail "a signal went before the sync: $(cat "$T/stop.tr")"
[ "$(count pidfd_send_signal "$T/stop.tr")" = 3 ] || fail "stop did not signal each wrapper once: $(cat "$T/stop.tr")"
for id in b1 b2 b3; do
  is_inactive "$id" || fail "$id still active after stop"
  grep -q '"ended_by":"stop"' "$SPMI_PATH/$id/launch.json" || fail "$id: launch.json not ended by stop"
done
pass "stop of 3: wanted down synced once, before the signals"

run 0 start 'b.*'
trace "$T/kill.tr" kill 'b.*' || fail "kill failed: $(cat "$T/err")"
[ "$(count fsync "$T/kill.tr")" = 0 ] || fail "kill fsynced each launch record: $(cat "$T/kill.tr")"
head -1 "$T/kill.tr" | grep -q '^syncfs(' || fail "a signal went before the sync: $(cat "$T/kill.tr")"
for id in b1 b2 b3; do is_inactive "$id" || fail "$id still active after kill"; done
pass "kill of 3: wanted down synced once, before the signals"
