#!/usr/bin/env bash
# Wall time of the training audit in one process against the audit farm on
# the same cores: R = 1 x 2 threads, R = 2 x 1 thread (mpirun), and
# R = 1 x 1 thread for reference, auditing every cell of a recorded LoRA run
# of the `small` preset. The time is the whole command's (start-up, the
# checks before the cells on every rank, MPI start-up included). Every
# report is compared with the first's: the farm's verdict is the same bytes.
#
# Usage: bench/audit_farm_bench.sh AFTUNE_BINARY [steps (default 8)]
set -euo pipefail
aftune=$1 steps=${2:-8}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data=$src/data/arith/train.jsonl
"$aftune" keygen --name bench/provider --out "$work/provider" >/dev/null
"$aftune" model init --preset small --seed 1 --out "$work/base" >/dev/null
"$aftune" contract create --base "$work/base" --data "$data" --out "$work/c.json" --method lora --r 16 \
  --learning_rate 0.001 --max_steps "$steps" --per_device_train_batch_size 4 --gradient_accumulation_steps 2 \
  --max_seq_length 64 --seed 7 --steps_per_block 2 --layers_per_block 1 --checkpoint_interval 1 \
  --activation_interval 1 >/dev/null
"$aftune" train --contract "$work/c.json" --model "$work/base" --data "$data" --key "$work/provider.key" \
  --out "$work/run" >"$work/train.log" 2>&1
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
first= t1=
for setup in "1 2" "2 1" "1 1"; do
  read -r ranks threads <<<"$setup"
  launch=()
  ((ranks > 1)) && launch=(mpirun --allow-run-as-root --oversubscribe -np "$ranks")
  out=$work/audit-$ranks-$threads.json
  start=$(date +%s.%N)
  "${launch[@]}" "$aftune" audit train --contract "$work/c.json" --commitment "$work/run/commitment.note" \
    --pub "$work/provider.pub" --data "$data" --model "$work/base" --run "$work/run" --samples 100000 \
    --nonce 01 --threads "$threads" --report "$out" >"$out.txt"
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  [[ -z $first ]] && first=$out t1=$wall
  same=$(cmp -s "$first" "$out" && echo same || echo DIFFERENT)
  printf 'R=%d x %d thread(s)  %6.2f s  %5.2fx of R=1 x 2 threads  report %s  (%s cells)\n' "$ranks" "$threads" \
    "$wall" "$(echo "$t1 / $wall" | bc -l)" "$same" "$(grep -o '[0-9]* of [0-9]*' "$out.txt" | head -1)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
