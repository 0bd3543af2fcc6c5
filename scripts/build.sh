#!/usr/bin/env bash
# Configures and builds aftune into build/ (after installing dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build --parallel "$(nproc)" "$@"
