// Dishonest providers against the inference audit (issue 6): each serves
// n = 40 completions to one client, dishonestly for d of them, signs a
// receipt for every answer and logs it; the client audits its receipts file
// with S receipts drawn under 50 different nonces.
//
// Attacks on execution (the receipt names the committed model and the
// client's request, but the tokens came from elsewhere) are visible only to
// re-execution: an audit catches them when it draws a receipt whose tokens
// differ from the honest ones. The program counts those receipts (D; a
// cheaper model may happen to pick the same tokens) and prints, per S, the
// detection rate over the nonces beside the probability that the draw hits
// D, 1 - C(n-|D|, S)/C(n, S). Attacks on receipts and the log are checked
// on every receipt, so every audit must catch them (expected 1.00). It also
// counts audits whose verdict disagrees with "drew a receipt of D or a
// whole-file check failed". Last, honest providers audited under 50 nonces
// give the false-positive count.
//
// The model: the tiny preset (seed 1); requests: 40 byte-tokenized prompts,
// max_tokens 8, temperature 0.8, top_p 0.95, seed i; d = 4 (10 %).
//
// Usage: infer_attacks_eval [nonces (default 50)] [work dir]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "audit/infer_audit.h"
#include "serve/local_log_view.h"
#include "model/model_dir.h"
#include "model/model_init.h"
#include "serve/receipt_log.h"
#include "protocol/request.h"

namespace aftune {
namespace {

constexpr int kRequests = 40;
constexpr int kSampleSizes[] = {1, 2, 4, 8, 16};
const std::set<int> kDishonest = {5, 17, 26, 38};  // d = 4 of n = 40

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

void MustOk(const Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
    std::exit(1);
  }
}

// 1 - C(n-d, s)/C(n, s): the chance that s distinct draws of n hit one of d.
double HitProbability(int64_t n, int64_t d, int64_t s) {
  double miss = 1;
  for (int64_t i = 0; i < s; ++i) miss *= std::max(0.0, static_cast<double>(n - d - i) / static_cast<double>(n - i));
  return 1 - miss;
}

PrivateKey Key(uint8_t b) {
  Ed25519Seed seed{};
  seed[0] = b;
  return Must(PrivateKey::FromSeed("provider.example", seed), "key");
}

// Round to nearest even bf16, kept as f32.
float RoundBf16(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  b = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&x, &b, 4);
  return x;
}

// Symmetric per-tensor int8: x -> round(x / s) * s, s = max|x| / 127.
void QuantizeInt8(Tensor& t) {
  float m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.data()[i]));
  if (m == 0) return;
  const float s = m / 127;
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = std::nearbyint(t.data()[i] / s) * s;
}

std::unique_ptr<ServedModel> SaveAndLoad(const std::string& dir, const ModelConfig& cfg, const TensorMap& w) {
  MustOk(SaveModelDir(dir, cfg, w), "save model");
  return Must(LoadServedModel(dir, ""), "load model");
}

struct Models {
  std::unique_ptr<ServedModel> honest, other, bf16, int8;
};

Models MakeModels(const std::string& dir) {
  const ModelConfig cfg = Must(PresetConfig("tiny"), "preset");
  const TensorMap w = InitModel(cfg, 1);
  TensorMap bf16 = w, int8 = w;
  for (auto& [name, t] : bf16)
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = RoundBf16(t.data()[i]);
  for (auto& [name, t] : int8) QuantizeInt8(t);
  return {SaveAndLoad(dir + "/honest", cfg, w), SaveAndLoad(dir + "/other", cfg, InitModel(cfg, 2)),
          SaveAndLoad(dir + "/bf16", cfg, bf16), SaveAndLoad(dir + "/int8", cfg, int8)};
}

InferenceRequest ClientRequest(const ServedModel& m, int i) {
  InferenceRequest r;
  r.model = "tiny";
  const std::string prompt = "request " + std::to_string(i) + ": tell me about item " + std::to_string(i * 7);
  r.generation.prompt = {m.tokenizer->bos_id()};
  for (int32_t t : m.tokenizer->Encode(prompt)) r.generation.prompt.push_back(t);
  r.generation.max_tokens = 8;
  r.generation.sampling = {0.8f, 0.95f, 0, static_cast<uint64_t>(i)};
  return r;
}

std::vector<int32_t> Run(const ServedModel& m, const GenerationRequest& r) {
  Generator g(*m.decoder, m.eos_ids,
              [&m](const std::vector<int32_t>& ids) { return m.tokenizer->Decode(ids); });
  return g.Generate({r})[0].tokens;
}

// How a dishonest provider serves request i (for i in kDishonest).
struct Attack {
  std::string name;
  const ServedModel* model = nullptr;                     // executes with this model
  std::function<void(GenerationRequest&)> edit_request;  // runs this request instead
  std::function<void(std::vector<int32_t>&)> edit_output;
  bool forge = false;  // the receipt is signed with another key
  bool drop = false;   // the log holds another leaf at the receipt's index
  bool fork = false;   // the client is shown a fork of the log
};

// The client's receipts after being served by `attack` (honest for
// requests outside kDishonest), the log the auditor will see in `log`.
// `differing` receives the receipts whose tokens differ from honest ones.
std::vector<ReceiptBundle> Serve(const Attack& attack, const Models& models, const Hash& committed,
                                 ReceiptLog& log, ReceiptLog& fork_log, std::set<int64_t>& differing) {
  const PrivateKey key = Key(42), forger = Key(9);
  std::vector<ReceiptBundle> out;
  for (int i = 0; i < kRequests; ++i) {
    const bool dishonest = kDishonest.count(i) > 0;
    const InferenceRequest req = ClientRequest(*models.honest, i);
    GenerationRequest run = req.generation;
    if (dishonest && attack.edit_request) attack.edit_request(run);
    std::vector<int32_t> tokens = Run(dishonest && attack.model ? *attack.model : *models.honest, run);
    if (dishonest && attack.edit_output) attack.edit_output(tokens);
    if (tokens != Run(*models.honest, req.generation)) differing.insert(i);
    const ReceiptSalt salt = NewReceiptSalt();
    Receipt r{key.name(),          0, committed, std::nullopt, std::nullopt, BlindDigest(salt, RequestDigest(req)),
              BlindDigest(salt, ResponseDigest(tokens))};
    std::string note;
    auto sign = [&](uint64_t index) {
      r.index = index;
      note = SignReceipt(r, dishonest && attack.forge ? forger : key);
      return note;
    };
    AppendedLeaves a;
    if (dishonest && attack.drop) {
      a = Must(log.Append(1, [&](uint64_t index) {
        sign(index);
        Receipt other = r;
        other.response = BlindDigest(salt, ResponseDigest({}));
        return SignReceipt(other, key);
      }), "append");
    } else if (dishonest && attack.fork) {
      // The client's receipt goes into the fork; the log the auditor sees
      // holds another leaf there.
      a = Must(fork_log.Append(1, sign), "append");
      Must(log.Append(1, [&](uint64_t) { return std::string("rewritten history ") + std::to_string(i); }), "append");
    } else {
      a = Must(log.Append(1, sign), "append");
      if (attack.fork) Must(fork_log.Append(1, [&](uint64_t) { return note; }), "append");
    }
    out.push_back({a.first_index, note, a.checkpoint, req, tokens, {}, salt});
  }
  return out;
}

std::vector<Attack> Attacks(const Models& m) {
  auto change_last = [](std::vector<int32_t>& t) { t.back() = t.back() == 'x' ? 'y' : 'x'; };
  auto execution = [](std::string name, const ServedModel* model, std::function<void(GenerationRequest&)> edit) {
    return Attack{std::move(name), model, std::move(edit), {}, false, false, false};
  };
  auto receipts = [](std::string name, bool forge, bool drop, bool fork) {
    return Attack{std::move(name), nullptr, {}, {}, forge, drop, fork};
  };
  return {
      execution("serves another model", m.other.get(), {}),
      execution("quantized: weights rounded to bf16", m.bf16.get(), {}),
      execution("quantized: weights int8 (per tensor)", m.int8.get(), {}),
      execution("temperature 0.8 -> 1.0", nullptr, [](GenerationRequest& r) { r.sampling.temperature = 1.0f; }),
      execution("top_p 0.95 -> 0.5", nullptr, [](GenerationRequest& r) { r.sampling.top_p = 0.5f; }),
      execution("prompt truncated (first half)", nullptr,
                [](GenerationRequest& r) { r.prompt.resize(r.prompt.size() / 2); }),
      execution("prompt altered (one token)", nullptr, [](GenerationRequest& r) { r.prompt[3] = 'Q'; }),
      Attack{"output edited (last token), receipt signed over it", nullptr, {}, change_last, false, false, false},
      receipts("forged receipt (another key)", true, false, false),
      receipts("log entry dropped (another leaf at its index)", false, true, false),
      receipts("forked log (client shown another history)", false, false, true),
  };
}

}  // namespace
}  // namespace aftune

int main(int argc, char** argv) {
  using namespace aftune;
  const int nonces = argc > 1 ? std::atoi(argv[1]) : 50;
  const std::string dir = argc > 2 ? argv[2] : (std::filesystem::temp_directory_path() / "aftune-infer-eval").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const Models models = MakeModels(dir);
  const Hash committed = Sha256Of(std::string_view("the committed model's state digest"));
  const PrivateKey key = Key(42);

  // Audits `bundles` against `log` under nonce k: the report.
  auto audit = [&](const std::vector<ReceiptBundle>& bundles, ReceiptLog& log, int64_t s, int k) {
    LocalLogView view(log);
    InferAuditInputs in;
    in.model = models.honest.get();
    in.model_digest = committed;
    in.provider = key.public_key();
    in.receipts = bundles;
    in.log = &view;
    const std::vector<uint8_t> nonce = {static_cast<uint8_t>(k), static_cast<uint8_t>(k >> 8), 0xa5};
    return Must(AuditInference(in, {s, nonce}), "audit");
  };

  std::printf("n = %d receipts, d = %zu served dishonestly; %d nonces per S; detection rate (probability the draw "
              "hits a receipt whose tokens differ, or 1 when a whole-file check catches it)\n\n",
              kRequests, kDishonest.size(), nonces);
  std::printf("| attack | receipts with other tokens | caught by |");
  for (int s : kSampleSizes) std::printf(" S=%d |", s);
  std::printf("\n|---|---|---|");
  for (size_t i = 0; i < std::size(kSampleSizes); ++i) std::printf("---|");
  std::printf("\n");
  int disagreements = 0, case_no = 0;
  for (const Attack& attack : Attacks(models)) {
    const std::string db = dir + "/log" + std::to_string(case_no++);
    std::unique_ptr<ReceiptLog> log = Must(ReceiptLog::Open(db + ".db", key), "log");
    std::unique_ptr<ReceiptLog> fork_log = Must(ReceiptLog::Open(db + "-fork.db", key), "log");
    std::set<int64_t> differing;
    const std::vector<ReceiptBundle> bundles = Serve(attack, models, committed, *log, *fork_log, differing);
    // Whole-file checks: those that fail with no re-execution at all.
    std::set<std::string> global;
    for (const AuditCheck& c : audit(bundles, *log, 0, 0).checks)
      if (!c.passed) global.insert(c.check);
    std::set<std::string> caught = global;
    std::printf("| %s | %zu | ", attack.name.c_str(), differing.size());
    std::string row;
    for (int s : kSampleSizes) {
      int detected = 0;
      for (int k = 0; k < nonces; ++k) {
        const InferAuditReport r = audit(bundles, *log, s, k + 1);
        bool drew = false;
        for (const SampledReceipt& x : r.sampled) drew = drew || differing.count(x.line - 1);
        detected += !r.passed();
        disagreements += r.passed() == (drew || !global.empty());
        for (const AuditCheck& c : r.checks)
          if (!c.passed) caught.insert(c.check);
      }
      const double expect =
          !global.empty() ? 1.0 : HitProbability(kRequests, static_cast<int64_t>(differing.size()), s);
      char cell[48];
      std::snprintf(cell, sizeof cell, " %.2f (%.2f) |", static_cast<double>(detected) / nonces,
                    expect);
      row += cell;
    }
    std::string names;
    for (const std::string& c : caught) names += (names.empty() ? "" : ", ") + c;
    std::printf("%s |%s\n", names.empty() ? "-" : names.c_str(), row.c_str());
  }
  // Honest: every request served honestly, audited under other nonces.
  std::unique_ptr<ReceiptLog> log = Must(ReceiptLog::Open(dir + "/honest.db", key), "log");
  std::unique_ptr<ReceiptLog> unused = Must(ReceiptLog::Open(dir + "/honest-fork.db", key), "log");
  std::set<int64_t> differing;
  const std::vector<ReceiptBundle> honest = Serve(Attack{"honest", nullptr, {}, {}, false, false, false}, models, committed, *log, *unused, differing);
  int false_positives = 0;
  for (int k = 0; k < nonces; ++k) false_positives += !audit(honest, *log, 8, k + 1000).passed();
  std::printf("\nhonest provider, S = 8: %d false positives in %d audits\n", false_positives, nonces);
  std::printf("audits whose verdict disagreed with \"drew a receipt with other tokens or a whole-file check "
              "failed\": %d\n", disagreements);
  return disagreements == 0 && false_positives == 0 ? 0 : 1;
}
