#!/usr/bin/env bash
# Training tokens/s of data-parallel ranks against threads in one process on
# the same cores: R = 1 x 2 threads vs R = 2 x 1 thread (mpirun), and the
# single thread for reference, the `small` preset, LoRA r=16 on all seven
# projections and full fine-tuning, 8 micro-batches of 4 sequences x 64 tokens a step.
# The figure is the trainer's own running tokens/s after the last step
# (cli/progress.h: from the end of the first step, so model loading and MPI
# start-up are not counted). Every run's adapter or model bytes are compared
# with the first's: ranks and threads never change a bit.
#
# Usage: bench/dp_train_bench.sh AFTUNE_BINARY [steps (default 12)]
set -euo pipefail
aftune=$1 steps=${2:-12}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$aftune" model init --preset small --seed 1 --out "$work/base" >/dev/null
for method in lora full; do
  if [[ $method == lora ]]; then
    terms='"method": "lora", "r": 16, "lora_alpha": 32, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],'
  else
    terms='"method": "full",'
  fi
  cat >"$work/$method.json" <<JSON
{ $terms "learning_rate": 0.001, "max_steps": $steps, "per_device_train_batch_size": 4,
  "gradient_accumulation_steps": 8, "max_seq_length": 64, "seed": 42, "logging_steps": 1 }
JSON
  first=
  for setup in "1 2" "2 1" "1 1"; do
    read -r ranks threads <<<"$setup"
    out=$work/$method-$ranks-$threads
    launch=()
    ((ranks > 1)) && launch=(mpirun --allow-run-as-root --oversubscribe -np "$ranks")
    "${launch[@]}" "$aftune" train --config "$work/$method.json" --model "$work/base" \
      --data "$src/data/arith/train.jsonl" --out "$out" --threads "$threads" >"$out.log" 2>&1
    rate=$(grep -o '[0-9.]* tokens/s' "$out.log" | tail -1)
    weights=$(find "$out" -name '*.safetensors' ! -name checkpoint.safetensors | sort | xargs cat | sha256sum | cut -c1-16)
    [[ -z $first ]] && first=$weights
    same=$([[ $weights == "$first" ]] && echo same || echo DIFFERENT)
    printf '%-5s R=%d x %d thread(s)  %12s   weights %s (%s)\n' "$method" "$ranks" "$threads" "$rate" "$weights" "$same"
  done
done
