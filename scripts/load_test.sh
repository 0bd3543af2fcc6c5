#!/usr/bin/env bash
# The long form of the serving load test: `aftune serve` on loopback with 32
# concurrent clients (completions and chat completions, greedy and sampled)
# for LOAD_SECONDS (default 30) seconds, then every served request's receipt
# is checked to be in the log at its index (inclusion proof against the
# final signed checkpoint) and every checkpoint a client saw to be
# consistent with it. ctest runs the same test for 3 seconds
# (ServeCli.LoadTest in src/cli/serve_cli_test.cc).
# Usage: scripts/load_test.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
if [[ "$build" == build ]]; then bash scripts/build.sh --target aftune cli_tests; fi
AFTUNE_LOAD_SECONDS="${LOAD_SECONDS:-30}" AFTUNE_THREADS="${AFTUNE_THREADS:-2}" \
  "$build/tests/cli_tests" --gtest_filter=ServeCli.LoadTest
