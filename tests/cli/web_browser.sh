#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `spmi web` in a real browser: Debian's chromium driven by playwright-core (tests/web/, installed by
# scripts/install-deps.sh; it never downloads a browser). The page logs in with the printed token URL,
# shows the loaded tasks, starts one (its state turns active, its output arrives), stops it after the
# confirmation; requests without the token, with a foreign Origin or a forged Host are refused; markup in a
# comment or in the output stays text; the list fits a 360 px screen. Screenshots go to
# $SPMI_BUILD_DIR/test-artifacts/web/ (the dashboard's is docs/guide/web.png).
# Skips when chromium or tests/web/node_modules is missing, unless SPMI_REQUIRE_BROWSER is set.
source "$(dirname "$0")/common.sh"

chromium=${CHROMIUM:-/usr/bin/chromium}
web_dir="$SOURCE_DIR/tests/web"
missing=""
[ -x "$chromium" ] || missing="chromium ($chromium; apt-get install chromium)"
command -v node >/dev/null 2>&1 || missing="${missing:+$missing, }node (apt-get install nodejs)"
[ -f "$web_dir/node_modules/playwright-core/package.json" ] \
  || missing="${missing:+$missing, }$web_dir/node_modules (cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci)"
if [ -n "$missing" ]; then
  [ -n "${SPMI_REQUIRE_BROWSER:-}" ] && fail "SPMI_REQUIRE_BROWSER is set but missing: $missing (bash scripts/install-deps.sh)"
  echo "SKIP: missing $missing; bash scripts/install-deps.sh installs them"
  exit 77
fi

line="hello from spmi web $TAG"
task_toml demo.toml web-demo \
  "trap 'echo caught INT; exit 0' INT; echo '$line'; echo '<img src=x onerror=alert(1)>'; while :; do echo tick; sleep 0.3; done" \
  local
task_toml markup.toml web-markup "sleep 1000.$TAG" local
sed -i "s/^comment = .*/comment = '<img src=x onerror=alert(1)>'/" markup.toml
run 0 load demo.toml markup.toml

server_pid=""
stop_server() {
  [ -z "$server_pid" ] && return
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
trap 'stop_server; cleanup' EXIT
"$SPMI" web --listen 127.0.0.1:0 >"$T/web.out" 2>"$T/web.err" </dev/null &
server_pid=$!
if ! wait_for 10 grep -q '^spmi web: http://127\.0\.0\.1:[0-9]*/?token=[0-9a-f]\{64\}$' "$T/web.out"; then
  # The page and this test (branch web-page) may be built before the server (branch web-server).
  if grep -q "unknown command 'web'" "$T/web.err" && [ -z "${SPMI_REQUIRE_BROWSER:-}" ]; then
    echo "SKIP: this spmi has no \`web\` command yet"; exit 77
  fi
  cat "$T/web.out" "$T/web.err" >&2; fail "spmi web printed no URL within 10 s"
fi
url=$(sed -n 's/^spmi web: //p' "$T/web.out")
[ "$(stat -c %a "$SPMI_PATH/.web-token")" = 600 ] || fail "the token file is not 0600"
grep -qF "${url##*=}" "$SPMI_PATH/.web-token" || fail "the token file does not hold the printed token"
pass "spmi web printed its URL; the token file is 0600"

artifacts="${SPMI_BUILD_DIR:-$T}/test-artifacts/web"
mkdir -p "$artifacts"
SPMI_WEB_URL="$url" WEB_TASK=web-demo WEB_MARKUP=web-markup WEB_LINE="$line" ARTIFACTS="$artifacts" \
  CHROMIUM="$chromium" NODE_PATH="$web_dir/node_modules" \
  timeout 180 node "$web_dir/dashboard.test.js" || { cat "$T/web.err" >&2; fail "the browser test (above)"; }
pass "screenshots in $artifacts"

# The page's actions went through the same rules as the CLI: the CLI sees what the page did.
run 0 status web-demo
out_has "Active: inactive"
run 0 list
out_has "web-markup"

# SIGTERM ends the server cleanly (exit 0) and leaves the tasks alone.
run 0 start web-markup
kill -TERM "$server_pid"
rc=0
wait_for 5 bash -c "! kill -0 $server_pid 2>/dev/null" || fail "spmi web did not end within 5 s of SIGTERM"
wait "$server_pid" || rc=$?
server_pid=""
[ "$rc" = 0 ] || fail "spmi web exited $rc on SIGTERM"
is_active web-markup || fail "stopping spmi web touched a task"
pass "SIGTERM: exit 0, tasks untouched"
