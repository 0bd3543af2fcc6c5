#!/usr/bin/env bash
# Determinism across instruction sets: builds `aftune` for the baseline x86-64
# ISA and for AVX2 + FMA (haswell), and checks that logits and every gradient
# of a forward + backward pass (full fine-tuning and LoRA) have the same
# SHA-256 fingerprint as the main build's (-march=native, AVX-512 here), at
# several thread counts.
#
# Usage: isa_determinism.sh SOURCE_DIR MAIN_BINARY WORK_DIR
set -euo pipefail
src=$1 main=$2 work=$3
mkdir -p "$work"
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

"$main" model init --preset tiny --seed 5 --out "$work/tiny" >/dev/null

fingerprint() {  # binary threads lora_r
  "$1" model step --model "$work/tiny" --data "$src/data/demo.txt" --batch 3 --seq-len 40 --steps 1 \
    --threads "$2" --lora-r "$3" --fingerprint | sed -n 's/^fingerprint //p'
}

declare -A expected
for r in 0 4; do
  expected[$r]=$(fingerprint "$main" 1 "$r")
  [[ -n ${expected[$r]} ]] || { echo "no fingerprint from $main"; exit 1; }
done

status=0
for arch in x86-64 haswell; do
  build="$work/build-$arch"
  cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DAFTUNE_ARCH="$arch" \
    -DAFTUNE_BUILD_TESTS=OFF -DAFTUNE_BUILD_BENCH=OFF >/dev/null
  cmake --build "$build" --target aftune --parallel "$(nproc)" >/dev/null
  for r in 0 4; do
    for threads in 1 3; do
      got=$(fingerprint "$build/aftune" "$threads" "$r")
      if [[ $got == "${expected[$r]}" ]]; then
        echo "ok   -march=$arch lora_r=$r threads=$threads $got"
      else
        echo "FAIL -march=$arch lora_r=$r threads=$threads: $got, native build: ${expected[$r]}"
        status=1
      fi
    done
  done
done
exit $status
