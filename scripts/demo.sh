#!/usr/bin/env bash
# The main job on its embedded default, end to end:
#   1. build aftune;
#   2. create the `small` preset (12.9M parameters, random weights, seed 1);
#   3. one forward + backward pass on data/demo.txt (loss, tokens/s);
#   4. evaluate it on the demo task (single-digit addition, data/arith/);
#   5. fine-tune it with LoRA (data/arith/lora.json, 800 steps);
#   6. evaluate again, and print exact-match accuracy before and after.
# Rerunning resumes or reuses what is already in out/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target aftune
aftune=./build/aftune
out=out/demo
mkdir -p "$out"
if [[ ! -f $out/base/model.safetensors ]]; then
  $aftune model init --preset small --seed 1 --out "$out/base"
fi
$aftune model info "$out/base"
$aftune model step --model "$out/base" --data data/demo.txt --batch 8 --seq-len 128 --steps 2

eval_json() { $aftune eval --json --model "$out/base" "$@"; }
field() { sed -n "s/.*\"$1\": \([^,]*\),*/\1/p"; }
before_train=$(eval_json --data data/arith/train.jsonl)
before_eval=$(eval_json --data data/arith/eval.jsonl)
start=$SECONDS
$aftune train --config data/arith/lora.json --model "$out/base" --data data/arith/train.jsonl --out "$out/run"
train_secs=$((SECONDS - start))
after_train=$(eval_json --adapter "$out/run/adapter" --data data/arith/train.jsonl)
after_eval=$(eval_json --adapter "$out/run/adapter" --data data/arith/eval.jsonl)

row() {  # label json
  printf '%-34s loss %-10s exact match %s/%s\n' "$1" "$(field mean_loss <<<"$2")" \
    "$(field exact_match_count <<<"$2")" "$(field exact_match_total <<<"$2")"
}
echo
echo "demo: LoRA fine-tuning of the small preset on single-digit addition (${train_secs}s of training)"
row "before, training facts (80)" "$before_train"
row "after,  training facts (80)" "$after_train"
row "before, held-out facts (20)" "$before_eval"
row "after,  held-out facts (20)" "$after_eval"
