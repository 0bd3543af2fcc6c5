#!/usr/bin/env bash
# aftune against llama.cpp on the same weights: logits first, then prefill and
# batch-1 decode at 1 and 2 threads, the two engines alternating.
#
# llama.cpp is not a dependency of aftune: build it from its source, CPU only,
# at its best flags for the machine, e.g.
#   cmake -S LLAMA_SRC -B LLAMA_BUILD -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
#         -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF
#   ninja -C LLAMA_BUILD llama-bench llama
# then
#   bench/llamacpp_bench.sh LLAMA_SRC LLAMA_BUILD MODEL_DIR [ROUNDS] [THREADS...]
# MODEL_DIR is an aftune model directory (e.g. `aftune model init --preset
# llama-3.2-1b`); build/ must hold aftune's decode_bench.
#
# 1. MODEL_DIR is written as GGUF next to it (MODEL_DIR.gguf) by
#    bench/llamacpp/write_gguf.py with llama.cpp's own gguf-py, in the
#    weights' stored dtype (bf16 or f32): the same bytes.
# 2. bench/llamacpp/llama_logits.cpp is built against LLAMA_BUILD and both
#    engines' logits for a 32-token prompt are compared (max |difference|
#    over the logits' range, the argmax at every position).
# 3. ROUNDS rounds (default 3); in each, for each thread count (default 1 2):
#    aftune's decode_bench and then bench/llamacpp/llama_speed.cpp (built
#    against LLAMA_BUILD), each timing a prefill of 128 and of 512 tokens (one
#    batch, logits of the last row) and 32 tokens decoded at batch 1 from an
#    empty cache (llama-bench's pp and tg phases), with the same token ids,
#    best of 2 inside a round. Each engine's best round is its figure.
#    CLOCK=cpu times by process CPU time instead of wall clock (valid at one
#    thread; for a machine loaded by others). LLAMA_BENCH=1 also runs
#    llama-bench itself once per thread count, as a check of the harness.
set -euo pipefail
if [[ $# -lt 3 ]]; then
  sed -n '2,25p' "$0"
  exit 2
fi
llama_src=$(realpath "$1") llama_build=$(realpath "$2") model=$(realpath "$3")
rounds=${4:-3}
shift $(($# < 4 ? $# : 4))
threads=("$@")
[[ ${#threads[@]} -gt 0 ]] || threads=(1 2)
here=$(cd "$(dirname "$0")" && pwd)
aftune_build=${AFTUNE_BUILD:-$here/../build}
decode_bench=$aftune_build/bench/decode_bench
[[ -x $decode_bench ]] || { echo "no $decode_bench: build aftune's decode_bench first"; exit 1; }
[[ -x $llama_build/bin/llama-bench ]] || { echo "no $llama_build/bin/llama-bench"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cpus; $(date -u '+%F %H:%M UTC')"
echo "llama.cpp: $(git -C "$llama_src" log -1 --format='%H %cd' --date=short 2>/dev/null || echo unknown commit)"
echo "aftune: $(git -C "$here/.." log -1 --format='%H' 2>/dev/null || echo unknown commit)"

gguf=$model.gguf
if [[ ! -f $gguf ]]; then
  PYTHONPATH=$llama_src/gguf-py /usr/bin/python3 "$here/llamacpp/write_gguf.py" "$model" "$gguf.part"
  mv "$gguf.part" "$gguf"
fi

for tool in llama_logits llama_speed; do
  ${CXX:-g++} -O2 -std=c++17 -I"$llama_src/include" -I"$llama_src/ggml/include" "$here/llamacpp/$tool.cpp" \
    -L"$llama_build/bin" -lllama -lggml -lggml-base -Wl,-rpath,"$llama_build/bin" -o "$work/$tool"
done
clock=${CLOCK:-wall}

# Logits of one prompt, both engines, one thread.
vocab=$(sed -n 's/.*"vocab_size": *\([0-9]*\).*/\1/p' "$model/config.json")
ids=$(for i in $(seq 0 31); do echo $(((i * 7919 + 13) % vocab)); done | paste -sd,)
"$decode_bench" --model "$model" --logits "$ids" --out "$work/aftune.f32" --threads 1 >/dev/null
"$work/llama_logits" "$gguf" "$ids" "$work/llama.f32" 1 >/dev/null 2>"$work/llama_logits.log" ||
  { cat "$work/llama_logits.log"; exit 1; }
/usr/bin/python3 - "$work/aftune.f32" "$work/llama.f32" "$vocab" <<'EOF'
import sys
import numpy as np
a = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, int(sys.argv[3])).astype(np.float64)
b = np.fromfile(sys.argv[2], dtype=np.float32).reshape(-1, int(sys.argv[3])).astype(np.float64)
diff = np.abs(a - b).max(axis=1)
span = a.max(axis=1) - a.min(axis=1)
same = (a.argmax(axis=1) == b.argmax(axis=1)).sum()
print(f"logits, {a.shape[0]} positions: max |aftune - llama.cpp| = {diff.max():.4g} "
      f"({(diff / span).max():.2%} of a row's range), argmax equal at {same}/{a.shape[0]}")
EOF

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $clock clock"
for ((r = 1; r <= rounds; r++)); do
  for t in "${threads[@]}"; do
    echo "== round $r, $t thread(s): aftune (load $(cut -d' ' -f1 /proc/loadavg))"
    "$decode_bench" --model "$model" --threads "$t" --prefill 128,512 --decode 32 --batch 1 --rounds 2 \
      --clock "$clock" | grep -E 'prefill|decode|stream'
    echo "== round $r, $t thread(s): llama.cpp (load $(cut -d' ' -f1 /proc/loadavg))"
    "$work/llama_speed" "$gguf" "$t" 128,512 32 2 "$clock" | grep -E 'prefill|decode'
  done
done
if [[ ${LLAMA_BENCH:-0} == 1 ]]; then
  for t in "${threads[@]}"; do
    echo "== llama-bench, $t thread(s) (load $(cut -d' ' -f1 /proc/loadavg))"
    "$llama_build/bin/llama-bench" -m "$gguf" -t "$t" -p 128,512 -n 32 -r 3 -o md 2>/dev/null |
      grep -E '^\| (model|.*(pp|tg)[0-9])'
  done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
