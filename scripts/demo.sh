#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: install dependencies, build, then a short demo of load / list / start / status / stop
# in a private state directory.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
spmi="$PWD/build/bin/spmi"
demo=$(mktemp -d /tmp/spmi-demo.XXXXXX)
export SPMI_PATH="$demo/state"
trap '"$spmi" kill ".*" >/dev/null 2>&1 || true; rm -rf "$demo"' EXIT
cp examples/*.toml examples/*.yaml examples/*.json "$demo/"
cd "$demo"
step() { printf '\n$ spmi %s\n' "$*"; "$spmi" "$@"; }
step load hello.toml counter.yaml echo.json
step list
step start 'hello|counter'
sleep 1.5
step status 'hello|counter'
step stop counter
step status counter
