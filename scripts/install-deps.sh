#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs everything spmi needs to build and test, from Debian 12's packages (run as root).
set -euo pipefail
packages=(
  g++ cmake ninja-build pkg-config ccache
  libboost-dev libcli11-dev libyaml-cpp-dev libtomlplusplus-dev nlohmann-json3-dev libspdlog-dev libre2-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev
  screen tmux procps python3 python3-jsonschema zsh doxygen
  nginx-light perl systemd
  s6 supervisor  # the peers that bench/peers.sh measures beside spmi
  chromium nodejs npm  # the browser test of `spmi web` (tests/cli/web_browser.sh, tests/web/)
)
missing=()
for p in "${packages[@]}"; do
  # node and npm may come from elsewhere than Debian (a newer Node): then their packages are not needed.
  case $p in nodejs | npm) command -v node >/dev/null && command -v npm >/dev/null && continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (or install these packages): ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# playwright-core (the exact version of tests/web/package-lock.json) drives Debian's chromium
# (/usr/bin/chromium): it must never download a browser of its own.
web="$(cd "$(dirname "$0")/.." && pwd)/tests/web"
if [ "$(node -p "require('$web/node_modules/playwright-core/package.json').version" 2>/dev/null)" \
     != "$(node -p "require('$web/package-lock.json').packages['node_modules/playwright-core'].version")" ]; then
  echo "install-deps: npm ci in tests/web (playwright-core; no browser download)"
  (cd "$web" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
fi
