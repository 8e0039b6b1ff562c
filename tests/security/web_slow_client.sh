#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Clients that never read the event stream of a task flooding its output do not grow the server's
# memory without bound nor stall another client; 200 open streams are served at once.
source "$(dirname "$0")/../cli/common.sh"
source "$(dirname "$0")/../cli/web_common.sh"
need python3
task_toml w.toml flood "yes flood-line-$TAG-padding-padding-padding-padding" local
run 0 load w.toml
run 0 start flood
start_web
trap 'stop_web; cleanup' EXIT
# Five clients with a tiny receive buffer that ask for the flood's output and never read.
python3 - "$PORT" "$TOKEN" >"$T/slow.log" 2>&1 <<'PY' &
import socket, sys, time
port, token = int(sys.argv[1]), sys.argv[2]
socks = []
for _ in range(5):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET /api/events?log=flood HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    socks.append(s)
time.sleep(25)
PY
slow_pid=$!
rss() { awk '/^VmRSS/ {print $2}' "/proc/$WEB_PID/status"; }
max=0
for i in $(seq 1 15); do
  sleep 1
  r=$(rss); [ "$r" -gt "$max" ] && max=$r
  # Another client is served meanwhile, at once.
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H "Authorization: Bearer $TOKEN" "$BASE/api/list")
  [ "$code" = 200 ] || fail "another client got $code while slow readers were attached"
done
echo "max RSS ${max} KiB"
# (Checked in the normal build: ASan's quarantine, up to 256 MB, holds freed memory in a sanitized one.)
[ -n "${SPMI_TEST_SANITIZED:-}" ] || [ "$max" -lt 102400 ] || fail "the server grew to ${max} KiB with readers that never read"
kill "$slow_pid" 2>/dev/null || true
run 0 kill flood
pass "5 clients that never read: RSS at most ${max} KiB, other requests answered"
# 200 event streams at once, each getting the list.
mkdir "$T/streams"
pids=()
for i in $(seq 1 200); do
  curl -sN --max-time 8 -H "Authorization: Bearer $TOKEN" "$BASE/api/events" >"$T/streams/$i" 2>/dev/null &
  pids+=($!)
done
sleep 4
got=$(grep -l '^event: list' "$T/streams"/* | wc -l)
[ "$got" = 200 ] || fail "only $got of 200 streams got the list"
[ "$(http_code -H "Authorization: Bearer $TOKEN" "$BASE/api/list")" = 200 ] || fail "API not served with 200 streams open"
wait "${pids[@]}" || true
pass "200 open event streams all served, API still answering"
