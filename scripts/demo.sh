#!/usr/bin/env bash
# The main job on its embedded default: build, create the `small` preset, and
# run forward + backward passes on the shipped demo text, printing the loss
# and tokens/s.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target aftune
out=out/small
if [[ ! -f $out/model.safetensors ]]; then
  ./build/aftune model init --preset small --seed 1 --out "$out"
fi
./build/aftune model info "$out"
./build/aftune model step --model "$out" --data data/demo.txt --batch 8 --seq-len 128 --steps 3
