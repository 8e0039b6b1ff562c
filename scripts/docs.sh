#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what the documentation needs (scripts/install-deps.sh: doxygen among the rest), configures
# ./build and builds the plugin API reference with Doxygen into build/docs/api/html (warnings are
# errors). The user guide is Markdown in docs/ and needs no build. Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -G Ninja "${launcher[@]}" "$@" >/dev/null
cmake --build build --target docs
echo "docs: API reference in build/docs/api/html/index.html (installed by cmake --install build under share/doc/spmi/api)"
