#!/usr/bin/env bash
# The main job: aftune end to end on its embedded default. A provider
# fine-tunes a client's model under a signed contract and serves it; the
# client audits both by exact re-execution of a small random sample.
#   1. build; keys for the provider; the `small` preset as the base model
#      (random weights, seed 1) and single-digit addition as the task;
#   2. a contract binding base, data and every training term (the audit grid
#      included), and recorded LoRA training under it: trace, store,
#      delivered adapter and the signed commitment;
#   3. the training audit: 8 cells drawn by a nonce, re-executed, which pass
#      (HTML report); then the same audit of a copy whose provider halved one
#      step's reported loss and re-signed: it fails and names the cell;
#   4. serving with signed receipts in a Merkle log, a few client requests,
#      and the inference audit of those receipts (HTML report);
#   5. accuracy before and after fine-tuning, and the files to open.
# Everything is written under out/demo, or $AFTUNE_DEMO_OUT (rebuilt from
# scratch each run, but the base model is reused). Exit 0 when every step did
# what it should.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target aftune alter_step_eval
aftune=./build/aftune
out=${AFTUNE_DEMO_OUT:-out/demo}
data=data/arith/train.jsonl
heldout=data/arith/eval.jsonl
mkdir -p "$out"
rm -rf "$out/keys" "$out/contract.json" "$out/run" "$out/run-altered" "$out/reports" "$out/serve"
mkdir -p "$out/keys" "$out/reports" "$out/serve"

step() { printf '\n== %s\n' "$*"; }

step "1. keys, base model, task"
$aftune keygen --name demo.example/provider --out "$out/keys/provider"
if [[ ! -f $out/base/model.safetensors ]]; then
  $aftune model init --preset small --seed 1 --out "$out/base"
fi
$aftune model info "$out/base"
echo "task: $(wc -l <"$data") training facts and $(wc -l <"$heldout") held-out ones like $(head -1 "$data")"

step "2. contract and recorded training"
# The terms of data/arith/lora.json, on an audit grid of 8 steps x 2 layers.
$aftune contract create --base "$out/base" --data "$data" --out "$out/contract.json" \
  --method lora --r 16 --lora_alpha 32 \
  --target_modules q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj \
  --learning_rate 0.004 --lr_scheduler_type cosine --warmup_steps 20 --max_steps 800 \
  --per_device_train_batch_size 32 --max_seq_length 32 --seed 42 \
  --steps_per_block 8 --layers_per_block 2 --checkpoint_interval 8 --activation_interval 8 >/dev/null
$aftune contract show "$out/contract.json" | head -4
start=$SECONDS
$aftune train --contract "$out/contract.json" --model "$out/base" --data "$data" \
  --key "$out/keys/provider.key" --out "$out/run"
train_secs=$((SECONDS - start))
echo "the signed commitment ($out/run/commitment.note):"
sed 's/^/    /' "$out/run/commitment.note"

audit_train() {  # run-dir report-name nonce [extra options]
  local run=$1 name=$2 nonce=$3
  shift 3
  set +e
  $aftune audit train --contract "$out/contract.json" --commitment "$run/commitment.note" \
    --pub "$out/keys/provider.pub" --data "$data" --model "$out/base" --run "$run" \
    --nonce "$nonce" --report "$out/reports/$name.json" --html "$out/reports/$name.html" "$@"
  audit_status=$?
  set -e
}

step "3a. training audit of 8 cells drawn by the client's nonce"
audit_train "$out/run" train-audit 5eed0fc1e470 --samples 8
[[ $audit_status -eq 0 ]] || { echo "demo: the honest run failed its audit" >&2; exit 1; }

step "3b. a provider that halved the loss it reported for step 13 and re-signed: the audit of its cell"
cp -r "$out/run" "$out/run-altered"
# The dishonest provider first prepares the openings of the cell it alters
# (so that it can answer without replaying), then edits and re-signs.
$aftune open --run "$out/run-altered" --cell 3,1 --out /dev/null >/dev/null
line=$(./build/eval/alter_step_eval "$out/run-altered" 13 "$out/keys/provider.key")
echo "altered trace line $line (step 13) and signed a new commitment over the altered trace"
audit_train "$out/run-altered" train-audit-altered 5eed0fc1e470 --samples 1 --cells 3,1
[[ $audit_status -eq 3 ]] || { echo "demo: the altered run did not fail its audit (exit $audit_status)" >&2; exit 1; }

step "4a. serving with signed receipts"
serve_log="$out/serve/server.log"
$aftune serve --model "$out/base" --adapter "$out/run/adapter" --commitment "$out/run/commitment.note" \
  --key "$out/keys/provider.key" --db "$out/serve/receipts.db" --port 0 --name arith >"$serve_log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^aftune serve: listening on \(http:[^ ]*\).*/\1/p' "$serve_log")
  [[ -n $url ]] && break
  kill -0 $server 2>/dev/null || { cat "$serve_log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $url ]] || { echo "demo: the server did not start" >&2; cat "$serve_log" >&2; exit 1; }
echo "serving at $url"
receipts="$out/serve/receipts.jsonl"
client() {  # prompt [options]: prints the prompt and the answer; the receipt goes to the file
  local prompt=$1
  shift
  printf '  %s%s\n' "$prompt" "$($aftune client complete --server "$url" --prompt "$prompt" --max-tokens 3 \
    --receipts "$receipts" "$@" 2>>"$out/serve/client.log")"
}
for prompt in "3+4=" "7+2=" "5+5=" "8+1="; do client "$prompt" --temperature 0; done
client "6+3=" --temperature 0.7 --seed 11
echo "$(wc -l <"$receipts") answers, each with its signed receipt, kept in $receipts"

step "4b. inference audit of the receipts"
set +e
$aftune audit infer --model "$out/base" --adapter "$out/run/adapter" --commitment "$out/run/commitment.note" \
  --pub "$out/keys/provider.pub" --receipts "$receipts" --server "$url" --samples 3 --nonce c11e47 \
  --report "$out/reports/infer-audit.json" --html "$out/reports/infer-audit.html"
infer_status=$?
set -e
kill $server && wait $server 2>/dev/null || true
trap - EXIT
[[ $infer_status -eq 0 ]] || { echo "demo: the inference audit did not pass (exit $infer_status)" >&2; exit 1; }

step "5. what fine-tuning bought, and what to open"
field() { sed -n "s/.*\"$1\": \([^,]*\),*/\1/p"; }
exact() {  # json
  printf '%s/%s' "$(field exact_match_count <<<"$1")" "$(field exact_match_total <<<"$1")"
}
before_train=$($aftune eval --json --model "$out/base" --data "$data")
after_train=$($aftune eval --json --model "$out/base" --adapter "$out/run/adapter" --data "$data")
after_heldout=$($aftune eval --json --model "$out/base" --adapter "$out/run/adapter" --data "$heldout")
echo "exact match on the training facts: $(exact "$before_train") before, $(exact "$after_train") after" \
  "${train_secs} s of recorded training; on the held-out facts $(exact "$after_heldout") after"
cat <<EOF

demo: every step did what it should. Files to open:
  $out/contract.json                       the agreed terms (aftune contract show)
  $out/run/commitment.note                 the provider's signed training commitment
  $out/run/trace.jsonl                     the trace it binds: step and block-state records
  $out/reports/train-audit.html            training audit: loss curve, audit grid, every check (PASS)
  $out/reports/train-audit-altered.html    the altered run's audit: cell 3,1 fails cell.loss (FAIL)
  $out/reports/infer-audit.html            inference audit of the served answers (PASS)
  $out/serve/receipts.jsonl                the client's receipts, each a signed note with its log proof
EOF
