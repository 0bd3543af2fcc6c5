// The remote audit without --model: the base's small files and one slice
// per layer-block from `aftune provide --model` (a bf16 base with a Hugging
// Face tokenizer and chat configuration), every tensor proven under the
// contract's base state digest. It reaches the local audit's verdict and
// checks; a hostile provider (a proxy that alters the answers) gets a failed
// check naming what it altered (exit 3) or "could not audit" (exit 1), never
// a pass, a crash or a hang; tokens are refused on the new paths; the
// provider refuses a base that is not its runs'.
#include <algorithm>
#include <set>
#include <tuple>

#include "cli/provide_test_fixture.h"
#include "client/remote_base.h"
#include "commit/sha256.h"
#include "model/safetensors.h"
#include "protocol/audit_api.h"

namespace aftune {
namespace {

using testing::AlteringProxy;
using testing::IsSliceAnswer;
using testing::kOtherSecret;
using testing::kSecret;
using testing::ReadBytes;
using testing::RunAftune;
using testing::WriteText;

class ProvideBaseCliTest : public testing::ProvideFixture {
 protected:
  // The audit without the base, through `url`: its exit code and output.
  static testing::CommandResult AuditWithoutBase(const std::string& url, const std::string& report) {
    return RunAftune(Audit(Remote(url), report, /*with_model=*/false));
  }
};

// (check, result, cell) of every check: what the verdict rests on.
std::vector<std::tuple<std::string, std::string, std::string>> Outcomes(const nlohmann::json& report) {
  std::vector<std::tuple<std::string, std::string, std::string>> out;
  for (const auto& c : report["checks"])
    out.emplace_back(c["check"], c["result"], c.contains("cell") ? c["cell"].dump() : "");
  return out;
}

// The answer rebuilt from its tensors after `edit` (names, metadata), as a
// provider that alters a slice's content but not its form would send it.
std::string Rebuilt(const std::string& body,
                    const std::function<void(std::vector<SafetensorsTensorRef>*, std::map<std::string, std::string>*)>& edit) {
  SafetensorsFile file = SafetensorsFile::Parse(body, "slice").value();
  std::vector<SafetensorsTensorRef> tensors;
  for (const SafetensorsEntry& e : file.entries())
    tensors.push_back({e.name, e.dtype, e.shape, {reinterpret_cast<const char*>(e.bytes.data()), e.bytes.size()}});
  std::map<std::string, std::string> metadata = file.metadata();
  edit(&tensors, &metadata);
  return SerializeSafetensors(tensors, metadata).value();
}

TEST_F(ProvideBaseCliTest, AuditWithoutTheBaseReachesTheLocalVerdictAndChecks) {
  auto local = RunAftune(Audit("--run " + dir_ + "/run", "local-base.json"));
  ASSERT_EQ(local.exit_code, 0) << local.output;
  auto remote = AuditWithoutBase(provider_->url(), "no-base.json");
  ASSERT_EQ(remote.exit_code, 0) << remote.output;
  const nlohmann::json l = Report("local-base.json"), r = Report("no-base.json");
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_EQ(Outcomes(l), Outcomes(r));
  EXPECT_EQ(l["cells"], r["cells"]);
  size_t cell_base = 0;
  for (const auto& c : r["checks"]) {
    if (c["check"] == "cell.base") {
      ++cell_base;
      EXPECT_NE(c["message"].get<std::string>().find("proven under the contract's base state digest"),
                std::string::npos)
          << c;
    }
    if (c["check"] == "inputs.base_model") {
      EXPECT_NE(c["message"].get<std::string>().find("not held here"), std::string::npos) << c;
    }
  }
  EXPECT_EQ(cell_base, r["cells"].size());
  // One slice per layer-block the cells use (they run sorted by block), the
  // config, tokenizer.json and tokenizer_config.json.
  std::set<int> blocks;
  for (const auto& cell : r["cells"]) blocks.insert(cell[0].get<int>());
  const auto& f = r["fetched"];
  EXPECT_EQ(f["base_slices"]["count"].get<size_t>(), blocks.size());
  EXPECT_GT(f["base_slices"]["bytes"].get<int64_t>(), 0);
  EXPECT_EQ(f["base_files"]["count"].get<int>(), 3);
  // Their bytes, and the 404 saying the base has no chat_template.jinja.
  const auto files = static_cast<int64_t>(ReadBytes(dir_ + "/base/config.json").size() +
                                          ReadBytes(dir_ + "/base/tokenizer.json").size() +
                                          ReadBytes(dir_ + "/base/tokenizer_config.json").size());
  EXPECT_GT(f["base_files"]["bytes"].get<int64_t>(), files);
  EXPECT_LT(f["base_files"]["bytes"].get<int64_t>(), files + 200);
  EXPECT_NE(remote.output.find(" base slices, "), std::string::npos) << remote.output;
}

TEST_F(ProvideBaseCliTest, SliceTensorOffItsDigestFailsTheCell) {
  AlteringProxy proxy(provider_->url(), [](const httplib::Request& req, httplib::Response& res) {
    if (IsSliceAnswer(req) && res.status == 200) res.body.back() ^= 0x01;  // the last bf16's low bit
  });
  auto r = AuditWithoutBase(proxy.url(), "slice-tensor.json");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("FAILED cell.base"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("is not proven under the contract's base state digest"), std::string::npos) << r.output;
  EXPECT_EQ(Report("slice-tensor.json")["verdict"], "fail");
}

TEST_F(ProvideBaseCliTest, WrongSliceProofFailsTheCell) {
  AlteringProxy proxy(provider_->url(), [](const httplib::Request& req, httplib::Response& res) {
    if (!IsSliceAnswer(req) || res.status != 200) return;
    const size_t key = res.body.find("\"proof.");
    const size_t hash = res.body.find(' ', key);  // the first proof hash's first digit follows
    ASSERT_NE(hash, std::string::npos);
    char& c = res.body[hash + 1];
    c = c == '0' ? '1' : '0';
  });
  auto r = AuditWithoutBase(proxy.url(), "slice-proof.json");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("FAILED cell.base"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("is not proven"), std::string::npos) << r.output;
}

TEST_F(ProvideBaseCliTest, SliceMissingATensorOrHoldingAnotherFailsTheCell) {
  AlteringProxy missing(provider_->url(), [](const httplib::Request& req, httplib::Response& res) {
    if (!IsSliceAnswer(req) || res.status != 200) return;
    res.body = Rebuilt(res.body, [](auto* tensors, auto* metadata) {
      metadata->erase("proof." + tensors->back().name);
      tensors->pop_back();
    });
  });
  auto r = AuditWithoutBase(missing.url(), "slice-missing.json");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("FAILED cell.base"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" lacks tensor "), std::string::npos) << r.output;

  // A genuine tensor of another block, with its genuine proof: proven, but
  // not the block's.
  const std::string upstream = provider_->url();
  AlteringProxy extra(upstream, [upstream](const httplib::Request& req, httplib::Response& res) {
    if (!IsSliceAnswer(req) || res.status != 200) return;
    const std::string other_block = req.path.ends_with("/0") ? "1" : "0";
    httplib::Client up(upstream);
    httplib::Result o = up.Get(req.path.substr(0, req.path.rfind('/') + 1) + other_block,
                               {{"Authorization", req.get_header_value("Authorization")}});
    ASSERT_TRUE(o && o->status == 200);
    SafetensorsFile other = SafetensorsFile::Parse(o->body, "other").value();
    const SafetensorsEntry* layer = nullptr;
    for (const SafetensorsEntry& e : other.entries())
      if (e.name.starts_with("model.layers.")) layer = &e;
    ASSERT_NE(layer, nullptr);
    res.body = Rebuilt(res.body, [&](auto* tensors, auto* metadata) {
      tensors->push_back({layer->name, layer->dtype, layer->shape,
                          {reinterpret_cast<const char*>(layer->bytes.data()), layer->bytes.size()}});
      (*metadata)["proof." + layer->name] = other.metadata().at("proof." + layer->name);
    });
  });
  r = AuditWithoutBase(extra.url(), "slice-extra.json");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("FAILED cell.base"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(", which the block does not use"), std::string::npos) << r.output;
}

TEST_F(ProvideBaseCliTest, BaseFilesOffTheContractFailTheirInputCheck) {
  struct Case {
    std::string file, check;
    std::function<void(std::string*)> edit;
  };
  const std::vector<Case> cases = {
      {"config.json", "inputs.base_model_config",
       [](std::string* b) { b->replace(b->find("1e-05"), 5, "2e-05"); }},
      {"tokenizer.json", "inputs.tokenizer", [](std::string* b) { b->push_back('\n'); }},
      {"tokenizer_config.json", "inputs.chat_template",
       [](std::string* b) { b->replace(b->find("\"unk_token\": \"<unk>\""), 20, "\"unk_token\": \"<s>\""); }},
  };
  for (const Case& c : cases) {
    AlteringProxy proxy(provider_->url(), [&c](const httplib::Request& req, httplib::Response& res) {
      if (req.path.ends_with("/base/" + c.file) && res.status == 200) c.edit(&res.body);
    });
    auto r = AuditWithoutBase(proxy.url(), "file.json");
    EXPECT_EQ(r.exit_code, 3) << c.file << ": " << r.output;
    EXPECT_NE(r.output.find("FAILED " + c.check), std::string::npos) << c.file << ": " << r.output;
    EXPECT_NE(r.output.find("/base/" + c.file), std::string::npos) << c.file << ": " << r.output;
  }
}

TEST_F(ProvideBaseCliTest, TruncatedAndOversizedSlicesFailTheCellNamingThem) {
  AlteringProxy shorter(provider_->url(), [](const httplib::Request& req, httplib::Response& res) {
    if (IsSliceAnswer(req) && res.status == 200) res.body.resize(res.body.size() / 2);
  });
  auto r = AuditWithoutBase(shorter.url(), "slice-short.json");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("FAILED cell.base"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("could not be read from"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("/base/block/"), std::string::npos) << r.output;

  // Beyond the cap the auditor computes from the contracted config.json.
  AlteringProxy bigger(provider_->url(), [](const httplib::Request& req, httplib::Response& res) {
    if (IsSliceAnswer(req) && res.status == 200) res.body += std::string(size_t{40} << 20, '\0');
  });
  r = AuditWithoutBase(bigger.url(), "slice-big.json");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("FAILED cell.base"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("above the cap of"), std::string::npos) << r.output;
}

// A RemoteBase with small bounds against slices that drip or never come:
// each an IOError naming the bound, within the deadline.
TEST_F(ProvideBaseCliTest, DrippingAndSilentSlicesAreCutOff) {
  using testing::HostileServer;
  const std::string config = ReadBytes(dir_ + "/base/config.json");
  HostileServer hostile([&config](httplib::Server& s) {
    s.Get(".*/base/config.json", [config](const httplib::Request&, httplib::Response& res) {
      res.set_content(config, "application/octet-stream");
    });
    s.Get(".*/base/block/0", [](const httplib::Request&, httplib::Response& res) { HostileServer::Drip(res); });
    s.Get(".*/base/block/1", [](const httplib::Request&, httplib::Response& res) { HostileServer::Silence(res); });
    s.Get(".*", [](const httplib::Request&, httplib::Response& res) { res.status = 404; });
  });
  RemoteLimits limits = HostileServer::SmallLimits();
  limits.min_bytes_per_second = uint64_t{1} << 40;  // no extra time for the slices' size
  auto provider = ProviderClient::Create(hostile.url(), kSecret, Hash{}, limits).value();
  auto base = RemoteBase::Open(provider.get(), "byte");
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  const auto start = std::chrono::steady_clock::now();
  Result<BaseSlice> drip = (*base)->Slice(0, {0, 1});
  ASSERT_FALSE(drip.ok());
  EXPECT_NE(drip.status().message().find("did not complete within 1500 ms"), std::string::npos)
      << drip.status().ToString();
  Result<BaseSlice> silent = (*base)->Slice(1, {1, 2});
  ASSERT_FALSE(silent.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST_F(ProvideBaseCliTest, TokensAreRefusedOnTheBasePaths) {
  httplib::Client c(provider_->url());
  const Hash run = Sha256Of(ReadBytes(dir_ + "/run/commitment.note"));
  auto status = [](const httplib::Result& r) { return r ? r->status : -1; };
  const httplib::Headers auditor = {{"Authorization", std::string("Bearer ") + kSecret}};
  const httplib::Headers other = {{"Authorization", std::string("Bearer ") + kOtherSecret}};
  const httplib::Headers unknown = {{"Authorization", "Bearer not-a-token-anyone-holds"}};
  for (const std::string& path : {AuditBaseFilePath(run, "config.json"), AuditBaseSlicePath(run, 0)}) {
    EXPECT_EQ(status(c.Get(path)), 401) << path;
    EXPECT_EQ(status(c.Get(path, unknown)), 401) << path;
    EXPECT_EQ(status(c.Get(path, other)), 403) << path;
    EXPECT_EQ(status(c.Get(path, auditor)), 200) << path;
  }
  EXPECT_EQ(status(c.Get(AuditBaseSlicePath(run, 2), auditor)), 404);  // two layer-blocks
  EXPECT_EQ(status(c.Get(AuditBaseFilePath(run, "chat_template.jinja"), auditor)), 404);  // the base has none
  EXPECT_EQ(status(c.Get(AuditBaseFilePath(run, "generation_config.json"), auditor)), 404);
  EXPECT_EQ(status(c.Get(AuditRunPath(run) + "/base/..%2Fcontract.json", auditor)), 404);
  httplib::Result config = c.Get(AuditBaseFilePath(run, "config.json"), auditor);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->body, ReadBytes(dir_ + "/base/config.json"));
}

TEST_F(ProvideBaseCliTest, AProviderWithoutTheBaseCannotBeAuditedWithoutIt) {
  testing::ServerProcess bare("provide --run " + dir_ + "/run --tokens " + dir_ + "/tokens --threads 1");
  auto r = AuditWithoutBase(bare.url(), "bare.json");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("could not audit"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("holds no base model for run 'run'"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/bare.json"));
}

TEST_F(ProvideBaseCliTest, ProvideRefusesABaseThatIsNotItsRuns) {
  const std::string d = dir_;
  ASSERT_EQ(RunAftune("model init --preset tiny --seed 9 --out " + d + "/other-base").exit_code, 0);
  // (timeout: a provider that wrongly starts would serve until killed)
  const std::string provide = "timeout 60 " + std::string(AFTUNE_BINARY) + " provide --run " + d + "/run --tokens " +
                              d + "/tokens --port 0 --model ";
  auto r = testing::RunCommand(provide + d + "/other-base");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("is the contracted base of none of the runs"), std::string::npos) << r.output;

  // The same weights with another chat configuration: the run's state
  // digest, but not its contract.
  std::filesystem::copy(d + "/base", d + "/edited-base");
  std::string chat = ReadBytes(d + "/base/tokenizer_config.json");
  chat.replace(chat.find("\"unk_token\": \"<unk>\""), 20, "\"unk_token\": \"<s>\"");
  WriteText(d + "/edited-base/tokenizer_config.json", chat);
  r = testing::RunCommand(provide + d + "/edited-base");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("chat template " + d + "/edited-base/tokenizer_config.json does not match the contract"),
            std::string::npos)
      << r.output;
  // Two copies of one base: which one serves the run would be a guess.
  r = testing::RunCommand(provide + d + "/base --model " + d + "/edited-base");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("hold the same base"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace aftune
