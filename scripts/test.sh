#!/usr/bin/env bash
# Builds everything and runs every test (unit, PyTorch oracle, the demo with
# its reports opened in a browser, determinism across thread counts, batch
# composition, layer blocks and instruction sets).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --tests
bash scripts/build.sh
ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 900
