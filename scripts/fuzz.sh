#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cc) with clang, ASan and UBSan, and
# runs each for FUZZ_SECONDS (default 20) seconds, starting from its seed
# corpus fuzz/corpus/<name>/ (and dictionary fuzz/<name>_fuzz.dict when
# present). Usage: scripts/fuzz.sh [BUILD_DIR]   (default: build-fuzz)
#
# New inputs libFuzzer finds go to BUILD_DIR/corpus/<name>/ (not into the
# repository); a crashing input is written to BUILD_DIR/artifacts/ and the
# script exits non-zero. To keep a finding as a seed, copy it into
# fuzz/corpus/<name>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build="${1:-$root/build-fuzz}"
seconds="${FUZZ_SECONDS:-20}"

bash scripts/bootstrap.sh
for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found" >&2; exit 1; }
done
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAFTUNE_FUZZ=ON \
    -DAFTUNE_BUILD_TESTS=OFF -DAFTUNE_BUILD_BENCH=OFF >/dev/null
fi
# The targets to run: the sources present now, before the build (which
# re-globs fuzz/*_fuzz.cc), so each has its binary.
sources=(fuzz/*_fuzz.cc)
cmake --build "$build" --parallel "$(nproc)" --target fuzz_targets

# UBSan reports are findings too: stop at the first one.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

mkdir -p "$build/artifacts"
status=0
for src in "${sources[@]}"; do
  target=$(basename "$src" .cc)   # safetensors_fuzz
  name=${target%_fuzz}            # safetensors
  work="$build/corpus/$name"
  mkdir -p "$work"
  seeds=()
  if [[ -d "fuzz/corpus/$name" ]]; then seeds=("fuzz/corpus/$name"); fi
  dict=()
  if [[ -f "fuzz/${target}.dict" ]]; then dict=(-dict="fuzz/${target}.dict"); fi
  echo "fuzz.sh: $target for ${seconds}s"
  if ! "$build/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$target-" "${dict[@]}" "$work" "${seeds[@]}" \
      >"$build/$target.log" 2>&1; then
    echo "fuzz.sh: $target FAILED; log: $build/$target.log" >&2
    tail -n 40 "$build/$target.log" >&2
    status=1
  else
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$build/$target.log" | sed "s/^/  /" || true
  fi
done
exit "$status"
