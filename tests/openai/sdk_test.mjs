// aftune serve as the official openai SDK sees it: chat and completions,
// streamed and not, new-style parameters; each answer's receipt is written
// to a receipts file (docs/formats.md, "Receipts file") for `aftune audit
// infer`. Usage: node sdk_test.mjs URL MODEL RECEIPTS_FILE
import assert from 'node:assert/strict';
import fs from 'node:fs';
import OpenAI from 'openai';

const [url, model, receiptsFile] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
const receipts = [];
const keep = (receipt) => {
  assert.ok(receipt && typeof receipt.receipt === 'string', 'a receipt bundle');
  receipts.push(JSON.stringify({ ...receipt, server: url }));
};

// Streams a request; returns the joined text, finish reason, usage and receipt.
async function collect(stream, pieceOf) {
  let text = '', finish = null, usage = null, receipt = null, first = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    first ??= chunk;
    assert.equal(chunk.id, first.id);
    if (chunk.usage) usage = chunk.usage;
    if (chunk.aftune_receipt) receipt = chunk.aftune_receipt;
    for (const c of chunk.choices) {
      text += pieceOf(c) ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  return { text, finish, usage, receipt, first, chunks };
}

const models = await client.models.list();
assert.deepEqual(models.data.map((m) => m.id), [model]);
assert.equal((await client.models.retrieve(model)).id, model);

const chatBody = {
  model,
  messages: [
    { role: 'developer', content: 'Answer briefly.' },
    { role: 'user', content: [{ type: 'text', text: 'What is 3+4?' }] },
  ],
  max_completion_tokens: 8,
  temperature: 0.8,
  seed: 7,
};
const chat = await client.chat.completions.create(chatBody);
assert.equal(chat.object, 'chat.completion');
assert.match(chat.system_fingerprint, /^fp_[0-9a-f]{16}$/);
keep(chat.aftune_receipt);
const chatStream = await collect(
  await client.chat.completions.create({ ...chatBody, stream: true, stream_options: { include_usage: true } }),
  (c) => c.delta?.content);
assert.equal(chatStream.first.object, 'chat.completion.chunk');
assert.equal(chatStream.first.choices[0].delta.role, 'assistant');
assert.equal(chatStream.text, chat.choices[0].message.content);
assert.equal(chatStream.finish, chat.choices[0].finish_reason);
assert.deepEqual(chatStream.usage, chat.usage);
assert.deepEqual(chatStream.receipt.completion_tokens, chat.aftune_receipt.completion_tokens);
keep(chatStream.receipt);

const completionBody = { model, prompt: '3+4=', max_tokens: 10, temperature: 1, top_p: 0.9, seed: 3, stop: ['\n'] };
const completion = await client.completions.create(completionBody);
assert.equal(completion.object, 'text_completion');
keep(completion.aftune_receipt);
const completionStream = await collect(await client.completions.create({ ...completionBody, stream: true }),
                                       (c) => c.text);
assert.equal(completionStream.text, completion.choices[0].text);
assert.equal(completionStream.finish, completion.choices[0].finish_reason);
assert.deepEqual(completionStream.receipt.completion_tokens, completion.aftune_receipt.completion_tokens);
keep(completionStream.receipt);

// Penalties and logit_bias, bound in the receipt the SDK hands back; a
// +100 bias forces its token, whatever the penalties.
const penalised = await client.completions.create({
  ...completionBody, stop: null, presence_penalty: 0.5, frequency_penalty: 1.25, logit_bias: { 120: 100 } });
assert.equal(penalised.choices[0].text, 'x'.repeat(completionBody.max_tokens));
const bound = penalised.aftune_receipt.request;
assert.equal(bound.presence_penalty, 0.5);
assert.equal(bound.frequency_penalty, 1.25);
assert.deepEqual(bound.logit_bias, [[120, 100]]);
keep(penalised.aftune_receipt);
const penalisedChat = { ...chatBody, frequency_penalty: 2, presence_penalty: -1.5, logit_bias: { 32: -100 } };
const chatPenalised = await client.chat.completions.create(penalisedChat);
assert.ok(!chatPenalised.choices[0].message.content.includes(' '));
keep(chatPenalised.aftune_receipt);
const chatPenalisedStream = await collect(await client.chat.completions.create({ ...penalisedChat, stream: true }),
                                          (c) => c.delta?.content);
assert.equal(chatPenalisedStream.text, chatPenalised.choices[0].message.content);
assert.deepEqual(chatPenalisedStream.receipt.request, chatPenalised.aftune_receipt.request);
keep(chatPenalisedStream.receipt);

// n > 1 and prompt arrays: choice index i * n + j, each choice with its own
// receipt (choice j bound as its Philox stream); streamed, chunks carry the
// index and each choice's finish chunk its receipt.
const choiceOf = (c) => c.aftune_receipt;
const many = await client.completions.create({ ...completionBody, prompt: ['3+4=', [256, 50, 43]], n: 2 });
assert.deepEqual(many.choices.map((c) => c.index), [0, 1, 2, 3]);
many.choices.forEach((c, k) => {
  assert.equal(choiceOf(c).request.choice, k % 2);
  keep(choiceOf(c));
});
assert.deepEqual(many.choices[0].aftune_receipt.completion_tokens, completion.aftune_receipt.completion_tokens);
assert.deepEqual(many.choices[2].aftune_receipt.request.prompt_tokens, [256, 50, 43]);
const chatMany = await client.chat.completions.create({ ...chatBody, n: 3 });
assert.equal(chatMany.choices.length, 3);
chatMany.choices.forEach((c) => keep(c.aftune_receipt));
const streamedMany = {};
for await (const chunk of await client.chat.completions.create({ ...chatBody, n: 3, stream: true })) {
  for (const c of chunk.choices) {
    streamedMany[c.index] ??= { text: '', receipt: null };
    streamedMany[c.index].text += c.delta?.content ?? '';
    if (c.aftune_receipt) streamedMany[c.index].receipt = c.aftune_receipt;
  }
}
chatMany.choices.forEach((c, k) => {
  assert.equal(streamedMany[k].text, c.message.content);
  assert.deepEqual(streamedMany[k].receipt.request, c.aftune_receipt.request);
  assert.deepEqual(streamedMany[k].receipt.completion_tokens, c.aftune_receipt.completion_tokens);
  keep(streamedMany[k].receipt);
});

// logprobs: chat's content[] and completions' four arrays, each value the
// one the receipt binds (completion_logprobs, re-executed by the audit);
// asking for them changes nothing about the answer.
const chatLp = await client.chat.completions.create({ ...chatBody, logprobs: true, top_logprobs: 3 });
const chatLpReceipt = chatLp.aftune_receipt;
assert.deepEqual(chatLpReceipt.completion_tokens, chat.aftune_receipt.completion_tokens);
assert.equal(chatLpReceipt.request.logprobs, 3);
const content = chatLp.choices[0].logprobs.content;
assert.equal(content.length, chatLpReceipt.completion_tokens.length);
content.forEach((t, k) => {
  const [chosen, top] = chatLpReceipt.completion_logprobs[k];
  assert.equal(typeof t.token, 'string');
  assert.ok(Array.isArray(t.bytes) && t.bytes.every((b) => b >= 0 && b < 256));
  assert.equal(t.logprob, chosen);
  assert.ok(t.logprob < 0);
  assert.equal(t.top_logprobs.length, 3);
  t.top_logprobs.forEach((a, i) => assert.equal(a.logprob, top[i][1]));
  assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob && t.top_logprobs[1].logprob >= t.top_logprobs[2].logprob);
  assert.ok(t.logprob <= t.top_logprobs[0].logprob);
});
keep(chatLpReceipt);
const completionLp = await client.completions.create({ ...completionBody, logprobs: 2, n: 2 });
completionLp.choices.forEach((c, j) => {
  const r = c.aftune_receipt;
  const lp = c.logprobs;
  assert.equal(r.request.choice, j);
  assert.equal(lp.tokens.length, r.completion_tokens.length);
  assert.deepEqual(lp.token_logprobs, r.completion_logprobs.map(([chosen]) => chosen));
  lp.top_logprobs.forEach((top, k) => {
    assert.ok(Object.keys(top).length >= 1 && Object.keys(top).length <= 2);
    assert.ok(Object.values(top).every((x) => r.completion_logprobs[k][1].some(([, y]) => y === x)));
  });
  assert.equal(lp.text_offset[0], 0);
  lp.text_offset.forEach((o, k) => k === 0 || assert.ok(o >= lp.text_offset[k - 1]));
  keep(r);
});
assert.deepEqual(completionLp.choices[0].aftune_receipt.completion_tokens, completion.aftune_receipt.completion_tokens);
await assert.rejects(client.chat.completions.create({ ...chatBody, logprobs: true, stream: true }),
                     (e) => e instanceof OpenAI.BadRequestError && e.param === 'logprobs');
await assert.rejects(client.chat.completions.create({ ...chatBody, top_logprobs: 2 }),
                     (e) => e instanceof OpenAI.BadRequestError && e.param === 'top_logprobs');

// Errors are the SDK's typed errors, naming the field.
await assert.rejects(client.chat.completions.create({ ...chatBody, logit_bias: { 5: 101 } }),
                     (e) => e instanceof OpenAI.BadRequestError && e.param === 'logit_bias');
await assert.rejects(client.chat.completions.create({ ...chatBody, presence_penalty: 3 }),
                     (e) => e instanceof OpenAI.BadRequestError && e.param === 'presence_penalty');
await assert.rejects(client.completions.create({ ...completionBody, model: 'nope', stream: true }),
                     (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');

fs.writeFileSync(receiptsFile, receipts.map((r) => r + '\n').join(''));
console.log(`openai SDK: ${receipts.length} answers (6 streamed, 3 with logprobs), all as the non-streamed ones`);
