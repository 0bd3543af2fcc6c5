#!/usr/bin/env bash
# ctest `openai_sdk`: `aftune serve` on a free port with a tiny model, driven by
# the official openai npm SDK (sdk_test.mjs), whose receipts must then pass
# `aftune audit infer`, every one re-executed. Usage: run_test.sh SOURCE_DIR AFTUNE WORK_DIR
set -euo pipefail
src=$1 aftune=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
[[ -d $src/tests/openai/node_modules/openai ]] ||
  { echo "openai_sdk: tests/openai/node_modules missing (scripts/bootstrap.sh installs it)" >&2; exit 1; }
"$aftune" keygen --name sdk.example/provider --out "$out/provider" >/dev/null
"$aftune" model init --preset tiny --seed 1 --out "$out/model" >/dev/null
log="$out/server.log"
"$aftune" serve --model "$out/model" --key "$out/provider.key" --db "$out/receipts.db" --port 0 --name tiny \
  >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
url=
for _ in $(seq 100); do
  url=$(sed -n 's/^aftune serve: listening on \(http:[^ ]*\).*/\1/p' "$log")
  [[ -n $url ]] && break
  kill -0 $server 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $url ]] || { echo "openai_sdk: the server did not start" >&2; cat "$log" >&2; exit 1; }
node "$src/tests/openai/sdk_test.mjs" "$url" tiny "$out/receipts.jsonl"
"$aftune" audit infer --model "$out/model" --pub "$out/provider.pub" --receipts "$out/receipts.jsonl" \
  --server "$url" --samples 1000  # every receipt: each is re-executed
