// libFuzzer target for the parsers of what an inference server and its
// clients read from outside (src/serve/): the OpenAI request bodies
// (ParseApiRequest, both endpoints), receipt bundles (a receipts-file line)
// and receipt texts. Seeds: fuzz/corpus/request/.
//
// Beyond "no crash": an accepted request satisfies every documented bound,
// an error names a message and a 4xx status; an accepted bundle writes back
// to JSON that parses to the same canonical request encoding; an accepted
// receipt text is exactly what ReceiptText writes.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "infer/logprobs.h"
#include "serve/api_request.h"
#include "protocol/receipt.h"
#include "protocol/receipt_bundle.h"

namespace {

constexpr int64_t kLimit = 64;

void CheckApi(aftune::ApiEndpoint endpoint, std::string_view in) {
  auto r = aftune::ParseApiRequest(endpoint, in, kLimit);
  if (auto* e = std::get_if<aftune::ApiError>(&r)) {
    AFTUNE_CHECK(!e->message.empty() && e->http_status >= 400 && e->http_status < 500);
    AFTUNE_CHECK(nlohmann::json::parse(e->ToJson(), nullptr, false).is_object());
    return;
  }
  const aftune::ApiRequest& a = std::get<aftune::ApiRequest>(r);
  AFTUNE_CHECK(a.max_tokens >= 1 && a.max_tokens <= kLimit);
  AFTUNE_CHECK(a.sampling.Validate().ok());
  AFTUNE_CHECK(a.stop.size() <= aftune::kMaxStopStrings);
  AFTUNE_CHECK((endpoint == aftune::ApiEndpoint::kChatCompletions) == !a.messages.empty());
  AFTUNE_CHECK((endpoint == aftune::ApiEndpoint::kChatCompletions) == a.prompts.empty());
  AFTUNE_CHECK(a.prompts.size() <= aftune::kMaxPrompts && a.n >= 1 &&
               static_cast<int64_t>(std::max<size_t>(a.prompts.size(), 1)) * a.n <= aftune::kMaxChoices);
  for (const aftune::ApiPrompt& p : a.prompts) AFTUNE_CHECK(!p.is_ids || !p.ids.empty());
  AFTUNE_CHECK(a.logprobs >= -1 && a.logprobs <= aftune::kMaxTopLogprobs && !(a.logprobs >= 0 && a.stream));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckApi(aftune::ApiEndpoint::kCompletions, in);
  CheckApi(aftune::ApiEndpoint::kChatCompletions, in);

  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    aftune::Result<aftune::ReceiptBundle> b = aftune::ReceiptBundleFromJson(j, {"server"});
    if (b.ok()) {
      // Through text, as a server writes it and a client reads it.
      aftune::Result<aftune::ReceiptBundle> back =
          aftune::ReceiptBundleFromJson(nlohmann::json::parse(aftune::ReceiptBundleToJson(*b).dump()));
      AFTUNE_CHECK(back.ok());
      AFTUNE_CHECK(aftune::EncodeRequest(back->request) == aftune::EncodeRequest(b->request));
      AFTUNE_CHECK(back->completion_tokens == b->completion_tokens);
      AFTUNE_CHECK(back->completion_logprobs == b->completion_logprobs);
      (void)aftune::CheckReceiptBundle(*b);
    }
  }

  aftune::Result<aftune::Receipt> receipt = aftune::ParseReceiptText(in);
  if (receipt.ok()) AFTUNE_CHECK(aftune::ReceiptText(*receipt) == in);
  return 0;
}
