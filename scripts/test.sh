#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs dependencies, builds, and runs the whole test suite:
#   1. unit and end-to-end tests (ctest) on the normal build;
#   2. the same suite built and run under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the descriptor-parsing fuzzer (libFuzzer, clang) for a bounded time.
# A single-node SLURM cluster on localhost is brought up first (scripts/slurm-up.sh).
# SPMI_TEST_STAGES picks stages (default "main sanitize fuzz"); SPMI_FUZZ_SECONDS the fuzzing time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
stages=${SPMI_TEST_STAGES:-main sanitize fuzz}
bash scripts/install-deps.sh
# The slurm backend is tested against a real single-node cluster on localhost, started here and
# stopped at exit; its tests fail (not skip) if it is not up.
bash scripts/slurm-up.sh
trap 'bash scripts/slurm-down.sh >/dev/null 2>&1 || true' EXIT
export SPMI_REQUIRE_SLURM=1
# The browser test of `spmi web` fails (not skips) without chromium or tests/web/node_modules, which
# install-deps.sh installed above.
export SPMI_REQUIRE_BROWSER=1
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

for stage in $stages; do
  case $stage in
    main)
      echo "=== test stage: unit and end-to-end tests"
      bash scripts/build.sh -DSPMI_BUILD_TESTS=ON
      cmake --build build --target docs  # the API reference; any Doxygen warning fails it
      (cd build && ctest --output-on-failure --timeout 300 -j2)
      ;;
    sanitize)
      echo "=== test stage: the suite under AddressSanitizer + UndefinedBehaviorSanitizer"
      cmake -S . -B build-sanitize -G Ninja "${launcher[@]}" -DSPMI_SANITIZE=ON -DSPMI_BUILD_TESTS=ON >/dev/null
      cmake --build build-sanitize
      logs=$(mktemp -d /tmp/spmi-sanitizer-logs.XXXXXX)
      # Wrapper processes run inside screen, where stderr is lost: every report goes to a file.
      export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:abort_on_error=0"
      export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
      export SPMI_TEST_SANITIZED=1  # timing bounds of the tests don't apply to a sanitizer build
      (cd build-sanitize && ctest --output-on-failure --timeout 600 -j2)
      unset ASAN_OPTIONS UBSAN_OPTIONS SPMI_TEST_SANITIZED
      if compgen -G "$logs/*" >/dev/null; then
        echo "sanitizer reports:"; cat "$logs"/*; exit 1
      fi
      rm -rf "$logs"
      ;;
    fuzz)
      echo "=== test stage: fuzzing descriptor parsing for ${SPMI_FUZZ_SECONDS:-60} s"
      cmake -S . -B build-fuzz -G Ninja "${launcher[@]}" -DCMAKE_CXX_COMPILER=clang++ -DSPMI_FUZZ=ON \
        -DSPMI_BUILD_TESTS=OFF >/dev/null
      cmake --build build-fuzz --target fuzz_descriptor
      corpus=$(mktemp -d /tmp/spmi-fuzz-corpus.XXXXXX)
      cp tests/fuzz/corpus/descriptor/* "$corpus/"
      rc=0
      (cd "$corpus" && "$root/build-fuzz/bin/fuzz_descriptor" -max_total_time="${SPMI_FUZZ_SECONDS:-60}" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$corpus/" "$corpus" \
        >"$corpus.log" 2>&1) || rc=$?
      tail -15 "$corpus.log"
      if [ "$rc" != 0 ]; then
        echo "the fuzzer found a problem (exit $rc); the input is kept in $corpus"
        exit 1
      fi
      rm -rf "$corpus" "$corpus.log"
      echo "fuzz: 1 passed, 0 failed"
      ;;
    *) echo "unknown test stage '$stage' (main, sanitize, fuzz)" >&2; exit 2 ;;
  esac
done
