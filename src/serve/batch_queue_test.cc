#include "serve/batch_queue.h"

#include <gtest/gtest.h>

#include <thread>

#include "serve/serve_test_util.h"

namespace aftune {
namespace {

// Requests decoded concurrently in shared batches get exactly the tokens
// (and text and finish reason) each gets when generated alone.
TEST(BatchQueue, BatchingNeverChangesAnAnswer) {
  auto model = testing::TinyServedModel(testing::ServeTestDir("batch"));
  ASSERT_TRUE(model);
  const Tokenizer& tok = *model->tokenizer;
  Generator gen(*model->decoder, {tok.eos_id()}, [&tok](const std::vector<int32_t>& ids) { return tok.Decode(ids); });
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 12; ++i) {
    GenerationRequest r;
    r.prompt.push_back(tok.bos_id());
    for (int32_t id : tok.Encode("prompt number " + std::to_string(i * 7) + std::string(i, '!'))) r.prompt.push_back(id);
    r.max_tokens = 3 + i % 5;
    r.sampling = {i % 3 == 0 ? 0.0f : 0.8f, i % 2 ? 0.9f : 1.0f, i % 4, static_cast<uint64_t>(i)};
    if (i % 5 == 0) r.stop = {"a"};
    requests.push_back(r);
  }
  std::vector<GenerationResult> alone;
  for (const auto& r : requests) alone.push_back(gen.Generate({r})[0]);

  for (size_t max_batch : {1u, 4u, 32u}) {
    BatchQueue queue(gen, max_batch);
    std::vector<GenerationResult> batched(requests.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < requests.size(); ++i)
      threads.emplace_back([&, i] { batched[i] = queue.Generate(requests[i]); });
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < requests.size(); ++i) {
      EXPECT_EQ(batched[i].tokens, alone[i].tokens) << "request " << i << ", max_batch " << max_batch;
      EXPECT_EQ(batched[i].text, alone[i].text);
      EXPECT_EQ(batched[i].finish, alone[i].finish);
    }
  }
}

}  // namespace
}  // namespace aftune
