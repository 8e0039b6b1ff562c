#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs dependencies, builds, and runs the whole test suite (unit tests and end-to-end CLI tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DSPMI_BUILD_TESTS=ON
cd build
ctest --output-on-failure --timeout 300 -j2
