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
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: run as root (or install these packages): ${missing[*]}" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
