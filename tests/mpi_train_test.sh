#!/usr/bin/env bash
# Data-parallel training over MPI gives the single-process bytes for every
# rank count (train/trainer.h, "Across ranks"): trace.jsonl, the signed
# commitment and the delivered weights, LoRA and full fine-tuning, with 5
# micro-batches a step (uneven for R = 2, 3, 4; R = 6 leaves a rank without
# one) and free --threads per rank.
# Then a rank is killed mid-run: the job stops with a message naming it, and
# a resume with another R ends identical to the uninterrupted run.
#
# Usage: mpi_train_test.sh SOURCE_DIR AFTUNE_BINARY WORK_DIR
source "$(dirname "$0")/mpi_common.sh"

contract() {  # method steps file [options...]
  local method=$1 steps=$2 file=$3
  shift 3
  "$aftune" contract create --base "$work/base" --data "$data" --out "$file" --method "$method" "$@" \
    --learning_rate 0.003 --max_steps "$steps" --per_device_train_batch_size 3 --gradient_accumulation_steps 5 \
    --max_seq_length 24 --seed 7 --steps_per_block 2 --layers_per_block 1 --checkpoint_interval 1 \
    --activation_interval 1 >/dev/null
}

train() {  # contract out [prefix...]: trains, prefix (mpirun -np R) before aftune
  local c=$1 out=$2
  shift 2
  "$@" "$aftune" train --contract "$c" --model "$work/base" --data "$data" --key "$work/provider.key" \
    --out "$out" --threads 1 >"$out.log" 2>&1
}

weights() {  # run dir: the delivered weights file
  if [[ -d $1/model ]]; then echo "$1/model/model.safetensors"; else echo "$1/adapter/adapter_model.safetensors"; fi
}

status=0
same() {  # label reference run
  local f
  for f in trace.jsonl commitment.note; do
    if ! cmp -s "$2/$f" "$3/$f"; then echo "FAIL $1: $f differs"; status=1; return; fi
  done
  if ! cmp -s "$(weights "$2")" "$(weights "$3")"; then echo "FAIL $1: delivered weights differ"; status=1; return; fi
  echo "ok   $1"
}

for method in lora full; do
  extra=()
  [[ $method == lora ]] && extra=(--r 4)
  contract "$method" 4 "$work/$method.json" "${extra[@]}"
  train "$work/$method.json" "$work/$method-single"
  for r in 1 2 3 4; do
    train "$work/$method.json" "$work/$method-np$r" "${mpi[@]}" -np "$r"
    same "$method R=$r" "$work/$method-single" "$work/$method-np$r"
  done
done
# More ranks than micro-batches: rank 5 has none and passes the chain on.
train "$work/lora.json" "$work/lora-np6" "${mpi[@]}" -np 6
same "lora R=6 (5 micro-batches)" "$work/lora-single" "$work/lora-np6"
# Threads per rank stay free.
"${mpi[@]}" -np 2 "$aftune" train --contract "$work/lora.json" --model "$work/base" --data "$data" \
  --key "$work/provider.key" --out "$work/lora-np2-t2" --threads 2 >"$work/lora-np2-t2.log" 2>&1
same "lora R=2 --threads 2" "$work/lora-single" "$work/lora-np2-t2"

# A killed rank: wait for the first checkpoint, kill -9 rank 1.
contract lora 300 "$work/long.json"
train "$work/long.json" "$work/long-single"
run=$work/long-killed
train "$work/long.json" "$run" "${mpi[@]}" -np 2 &
job=$!
for _ in $(seq 600); do [[ -f $run/checkpoint.safetensors ]] && break; sleep 0.1; done
victim=
for p in /proc/[0-9]*; do
  if { tr "\0" "\n" <"$p/environ"; } 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 &&
     tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "--out $run "; then victim=${p#/proc/}; fi
done
if [[ -z $victim ]]; then echo "FAIL killed rank: rank 1 not found"; exit 1; fi
kill -9 "$victim"
if wait "$job"; then echo "FAIL killed rank: the job exited 0"; status=1; fi
mv "$run.log" "$run.killed.log"
if grep -q "rank 1" "$run.killed.log"; then echo "ok   killed rank: stopped, message names rank 1"
else echo "FAIL killed rank: no message naming rank 1:"; cat "$run.killed.log"; status=1; fi
if [[ -f $run/commitment.note ]]; then echo "FAIL killed rank: a commitment was signed"; status=1; fi
# Resume with another rank count: the uninterrupted run's bytes.
train "$work/long.json" "$run" "${mpi[@]}" -np 3
grep -q "resuming from" "$run.log" || { echo "FAIL resume: did not resume"; status=1; }
same "killed R=2, resumed R=3" "$work/long-single" "$run"
exit $status
