#!/usr/bin/env bash
# The audit farm (audit/audit_farm.h): `mpirun -n R aftune audit train`
# splits the drawn cells over R ranks, and its verdict is the single-process
# one byte for byte: the JSON report, the HTML page, the printed summary and
# the exit status, for R = 1, 2, 3 and for more ranks than cells; against the
# provider's audit service too, where only `fetched` grows. A run whose
# stored state is tampered with fails the same cells' checks, identically,
# at each R; rank 1 given another store fails only its own share; a rank
# whose checks before the cells differ makes the audit "could not audit". A
# rank killed mid-audit (rank 1, or rank 0) stops the job with no report.
#
# Usage: mpi_audit_test.sh SOURCE_DIR AFTUNE_BINARY WORK_DIR
source "$(dirname "$0")/mpi_common.sh"

train() {  # steps run: records a LoRA run of `steps` steps
  "$aftune" contract create --base "$work/base" --data "$data" --out "$2.json" --method lora --r 4 \
    --learning_rate 0.003 --max_steps "$1" --per_device_train_batch_size 3 --gradient_accumulation_steps 2 \
    --max_seq_length 24 --seed 7 --steps_per_block 2 --layers_per_block 1 --checkpoint_interval 2 \
    --activation_interval 1 >/dev/null
  "$aftune" train --contract "$2.json" --model "$work/base" --data "$data" --key "$work/provider.key" \
    --out "$2" --threads 1 >"$2.log" 2>&1
}

audit() {  # run out samples [prefix...]: audits run, writing out.{json,html,txt,rc}
  local run=$1 out=$2 samples=$3
  shift 3
  local rc=0
  "$@" "$aftune" audit train --contract "$run.json" --commitment "$run/commitment.note" --pub "$work/provider.pub" \
    --data "$data" --model "$work/base" --run "$run" --samples "$samples" --nonce 00ff --threads 1 \
    --report "$out.json" --html "$out.html" >"$out.txt" 2>"$out.err" || rc=$?
  echo "$rc" >"$out.rc"
}

status=0
same() {  # label reference audit
  local f
  for f in rc json html txt; do
    if ! cmp -s "$2.$f" "$3.$f"; then echo "FAIL $1: the $f differs"; diff "$2.$f" "$3.$f" | head -5; status=1; return; fi
  done
  echo "ok   $1 (exit $(cat "$3.rc"))"
}

train 8 "$work/run"  # 2 layer-blocks x 4 step-blocks: 8 cells
audit "$work/run" "$work/single" 5
[[ $(cat "$work/single.rc") == 0 ]] || { echo "FAIL honest single-process audit: exit $(cat "$work/single.rc")"; cat "$work/single.err"; exit 1; }
for r in 1 2 3 7; do  # 7 ranks for 5 cells: two check none
  audit "$work/run" "$work/np$r" 5 "${mpi[@]}" -np "$r"
  same "honest R=$r" "$work/single" "$work/np$r"
done
# Without --nonce rank 0 draws the nonce for every rank.
"${mpi[@]}" -np 2 "$aftune" audit train --contract "$work/run.json" --commitment "$work/run/commitment.note" \
  --pub "$work/provider.pub" --data "$data" --model "$work/base" --run "$work/run" --samples 3 --threads 1 \
  >"$work/drawn.txt" 2>&1 && echo "ok   R=2 with a drawn nonce passes" || { echo "FAIL drawn nonce"; cat "$work/drawn.txt"; status=1; }

# Against the provider's audit service: the same verdict at R = 2, 3; only
# `fetched` grows, by the trace's lines that each further rank opens.
printf 'auditor mpi-audit-test-token-0123456789 run\n' >"$work/tokens" && chmod 600 "$work/tokens"
echo mpi-audit-test-token-0123456789 >"$work/auditor.token"
"$aftune" provide --run "$work/run" --tokens "$work/tokens" --threads 1 --port 0 >"$work/provide.log" 2>&1 &
provider=$!
trap 'kill $provider 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$work/provide.log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/provide.log")
remote() {  # out [prefix...]
  local out=$1
  shift
  "$@" "$aftune" audit train --contract "$work/run.json" --commitment "$work/run/commitment.note" \
    --pub "$work/provider.pub" --data "$data" --model "$work/base" --provider "$url" \
    --token-file "$work/auditor.token" --weights "$work/run/adapter/adapter_model.safetensors" --samples 5 \
    --nonce 00ff --threads 1 --report "$out.json" >"$out.txt" 2>&1
}
remote "$work/remote1"
for r in 2 3; do
  remote "$work/remote$r" "${mpi[@]}" -np "$r"
  if python3 - "$work/remote1.json" "$work/remote$r.json" "$work/single.json" "$r" <<'PY'
import json, sys
one, farm, local, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), int(sys.argv[4])
f1, fr = one.pop("fetched"), farm.pop("fetched")
records = one["commitment"]["records"]
ok = one == farm == local and fr["states"] == f1["states"] and fr["boundaries"] == f1["boundaries"] \
    and fr["lines"]["count"] == f1["lines"]["count"] + (r - 1) * records
print("     fetched lines", f1["lines"]["count"], "->", fr["lines"]["count"], "(records", records, ")")
sys.exit(0 if ok else 1)
PY
  then echo "ok   remote R=$r: the local verdict, fetched lines + (R-1) x records"
  else echo "FAIL remote R=$r"; cat "$work/remote$r.txt"; status=1; fi
done
kill $provider

# Tampered: every third stored tensor file of the run altered (its digest no
# longer the trace's), so that cells of every rank's share fail.
cp -r "$work/run" "$work/bad" && cp "$work/run.json" "$work/bad.json"
find "$work/bad/store" -type f | sort | sed -n '1~3p' | python3 -c '
import sys
for p in sys.stdin.read().split():
    b = bytearray(open(p, "rb").read())
    b[len(b) // 2] ^= 0x01
    open(p, "wb").write(bytes(b))'
audit "$work/bad" "$work/bad-single" 100
if [[ $(cat "$work/bad-single.rc") != 3 ]] || ! grep -q "FAILED cell\." "$work/bad-single.txt"; then
  echo "FAIL tampered single-process audit: expected exit 3 and a failed cell check"; cat "$work/bad-single.txt" "$work/bad-single.err"; status=1
fi
# Failed cells in the first and in the last half of the order: on rank 0 and
# on rank 1 of R = 2 (audit/audit_farm.h FarmShare).
python3 - "$work/bad-single.json" <<'PY' || { echo "FAIL tampered: failed cells not in both halves"; status=1; }
import json, sys
r = json.load(open(sys.argv[1]))
order = [tuple(c) for c in r["cells"]]
failed = {order.index(tuple(c["cell"])) for c in r["checks"] if c["result"] == "fail" and "cell" in c}
half = len(order) // 2
print("     failed cells at positions", sorted(failed), "of", len(order))
sys.exit(0 if min(failed) < half <= max(failed) else 1)
PY
for r in 2 3; do
  audit "$work/bad" "$work/bad-np$r" 100 "${mpi[@]}" -np "$r"
  same "tampered R=$r" "$work/bad-single" "$work/bad-np$r"
done

# Each rank checks its own share: rank 1 reading the tampered store (MPMD)
# fails exactly the cells of the second half, rank 0's stay passed.
args=(audit train --contract "$work/run.json" --commitment "$work/run/commitment.note" --pub "$work/provider.pub"
      --data "$data" --model "$work/base" --samples 100 --nonce 00ff --threads 1)
rc=0
"${mpi[@]}" -np 1 "$aftune" "${args[@]}" --run "$work/run" --report "$work/split.json" : \
  -np 1 "$aftune" "${args[@]}" --run "$work/bad" --report "$work/split.json" >"$work/split.txt" 2>&1 || rc=$?
python3 - "$work/split.json" <<'PY' && [[ $rc == 3 ]] || { echo "FAIL split: rank 1's cells are not its own (exit $rc)"; status=1; }
import json, sys
r = json.load(open(sys.argv[1]))
order = [tuple(c) for c in r["cells"]]
failed = {order.index(tuple(c["cell"])) for c in r["checks"] if c["result"] == "fail" and "cell" in c}
print("     rank 1 on the tampered store: failed cells at positions", sorted(failed), "of", len(order))
sys.exit(0 if failed and min(failed) >= len(order) // 2 else 1)
PY
[[ $rc == 3 ]] && echo "ok   split: each rank checks its own share"
# A rank whose checks before the cells differ (another dataset): could not audit, rank named.
head -n 5 "$data" >"$work/other.jsonl"
rc=0
"${mpi[@]}" -np 1 "$aftune" "${args[@]}" --run "$work/run" --report "$work/diverged.json" : \
  -np 1 "$aftune" "${args[@]/#$data/$work/other.jsonl}" --run "$work/run" --report "$work/diverged.json" \
  >"$work/diverged.txt" 2>&1 || rc=$?
if [[ $rc == 1 && ! -e $work/diverged.json ]] && grep -q "rank 1 of the audit farm" "$work/diverged.txt"; then
  echo "ok   diverged rank: could not audit (exit 1), rank 1 named, no report"
else echo "FAIL diverged rank: exit $rc"; cat "$work/diverged.txt"; status=1; fi

# A killed rank: rank 1 reads its dataset from a FIFO nobody writes, so it
# is still auditing (has sent rank 0 nothing) when it is killed with -9; the
# same for rank 0, waiting for rank 1. The job stops, no report is written.
mkfifo "$work/stalled.jsonl"
for victim in 1 0; do
  out=$work/killed$victim
  rc=0
  "${mpi[@]}" -np 1 "$aftune" "${args[@]}" --run "$work/run" --report "$out.json" --html "$out.html" : \
    -np 1 "$aftune" "${args[@]/#$data/$work/stalled.jsonl}" --run "$work/run" --report "$out.json" \
    >"$out.txt" 2>&1 &
  job=$!
  pid=
  for _ in $(seq 300); do
    for p in /proc/[0-9]*; do
      if { tr "\0" "\n" <"$p/environ"; } 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$victim" &&
         tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "--report $out.json"; then pid=${p#/proc/}; fi
    done
    [[ -n $pid ]] && break
    sleep 0.05
  done
  if [[ -z $pid ]]; then echo "FAIL killed rank $victim: not found"; kill "$job"; exit 1; fi
  sleep 1  # rank 0 has made its checks and waits for rank 1
  kill -9 "$pid"
  wait "$job" || rc=$?
  if [[ $rc == 0 ]]; then echo "FAIL killed rank $victim: the job exited 0"; status=1; fi
  if [[ -e $out.json || -e $out.html ]]; then echo "FAIL killed rank $victim: a report was written"; status=1; fi
  if grep -q "rank $victim" "$out.txt"; then echo "ok   killed rank $victim: stopped (exit $rc), no report, rank $victim named"
  else echo "FAIL killed rank $victim: no message naming it:"; cat "$out.txt"; status=1; fi
done
exit $status
