#!/usr/bin/env bash
# The README's main job as a test: runs scripts/demo.sh into a fresh folder,
# checks what it printed and wrote (each audit's verdict, the caught cell, the
# files the summary names), then opens its HTML reports in headless Chromium
# (tests/browser/check_reports.mjs).
#   tests/demo_test.sh SOURCE_DIR OUT_DIR
set -euo pipefail
src=$1
out=$2
log=$out/demo.log
rm -rf "$out"
mkdir -p "$out"
fail() {
  echo "demo_test: $*" >&2
  tail -n 60 "$log" >&2
  exit 1
}

AFTUNE_DEMO_OUT="$out/demo" bash "$src/scripts/demo.sh" >"$log" 2>&1 || fail "scripts/demo.sh exited non-zero"

expect() { grep -qF -- "$1" "$log" || fail "the demo did not print '$1'"; }
expect "training audit: PASS"
expect "training audit: FAIL"
expect "FAILED cell.loss cell 3,1: step 13:"
expect "inference audit: PASS"
expect "exact match on the training facts:"
expect "demo: every step did what it should."
[[ $(grep -c "FAILED" "$log") -eq 1 ]] || fail "more than the altered cell failed"

for f in contract.json run/commitment.note run/trace.jsonl run/adapter/adapter_model.safetensors \
    reports/train-audit.html reports/train-audit-altered.html reports/infer-audit.html \
    serve/receipts.jsonl; do
  [[ -s $out/demo/$f ]] || fail "the summary names $f, which the demo did not write"
  grep -qF "$f" "$log" || [[ $f == run/adapter/* ]] || fail "the summary does not name $f"
done

# The JSON reports agree with what was printed.
/usr/bin/python3 - "$out/demo/reports" <<'EOF' || fail "the JSON reports disagree with the printed verdicts"
import json, sys
d = sys.argv[1]
def load(name):
    with open(f"{d}/{name}.json") as f:
        return json.load(f)
honest, altered, infer = load("train-audit"), load("train-audit-altered"), load("infer-audit")
assert honest["verdict"] == "pass", honest["verdict"]
assert len(honest["cells"]) == 8, len(honest["cells"])
assert altered["verdict"] == "fail", altered["verdict"]
failed = [c for c in altered["checks"] if c["result"] != "pass"]
assert len(failed) == 1 and failed[0]["check"] == "cell.loss" and failed[0]["cell"] == [3, 1], failed
assert all(c["result"] == "pass" for c in honest["checks"] + infer["checks"])
assert infer["verdict"] == "pass", infer["verdict"]
EOF

node "$src/tests/browser/check_reports.mjs" "$out/demo/reports"
