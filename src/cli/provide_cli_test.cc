// aftune provide and aftune audit train --provider as the two parties run
// them: a remote audit reaches the local audit's verdict and checks; tokens
// are refused; a hostile provider (a proxy in this test that alters the
// provider's answers) gets a failed check (exit 3) or "could not audit"
// (exit 1), never a pass, a crash or a hang.
#include <atomic>

#include "cli/provide_test_fixture.h"
#include "client/remote_openings.h"
#include "commit/sha256.h"

namespace aftune {
namespace {

using testing::ReadBytes;
using testing::RunAftune;
using testing::WriteText;
using testing::AlteringProxy;
using testing::IsTensorAnswer;
using testing::kOtherSecret;
using testing::kSecret;

class ProvideCliTest : public testing::ProvideFixture {};

TEST_F(ProvideCliTest, RemoteAuditReachesTheLocalAuditsVerdictAndChecks) {
  auto local = RunAftune(Audit("--run " + dir_ + "/run", "local.json"));
  ASSERT_EQ(local.exit_code, 0) << local.output;
  auto remote = RunAftune(Audit(Remote(provider_->url()), "remote.json"));
  ASSERT_EQ(remote.exit_code, 0) << remote.output;
  EXPECT_NE(remote.output.find("fetched from the provider: "), std::string::npos) << remote.output;
  nlohmann::json l = Report("local.json"), r = Report("remote.json");
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_EQ(l["checks"], r["checks"]);
  EXPECT_EQ(l["cells"], r["cells"]);
  ASSERT_TRUE(r.contains("fetched"));
  EXPECT_FALSE(l.contains("fetched"));
  // Every trace line, one state and one or two boundaries per cell step.
  EXPECT_GT(r["fetched"]["lines"]["count"].get<int>(), 0);
  EXPECT_GE(r["fetched"]["states"]["count"].get<int>(), 3);
  EXPECT_GT(r["fetched"]["bytes"].get<int64_t>(), r["fetched"]["lines"]["bytes"].get<int64_t>());
}

TEST_F(ProvideCliTest, TokensAreRefused) {
  auto wrong = RunAftune(Audit(Remote(provider_->url(), "wrong.token"), "wrong.json"));
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_NE(wrong.output.find("HTTP 401"), std::string::npos) << wrong.output;
  auto other = RunAftune(Audit(Remote(provider_->url(), "other.token"), "other.json"));
  EXPECT_EQ(other.exit_code, 1) << other.output;
  EXPECT_NE(other.output.find("does not list the run"), std::string::npos) << other.output;
  httplib::Client bare(provider_->url());
  const Hash run = Sha256Of(ReadBytes(dir_ + "/run/commitment.note"));
  httplib::Result forbidden =
      bare.Get(AuditStatePath(run, 0, 0), {{"Authorization", std::string("Bearer ") + kOtherSecret}});
  ASSERT_TRUE(forbidden);
  EXPECT_EQ(forbidden->status, 403);
  EXPECT_NE(forbidden->body.find("client 'other' may not open"), std::string::npos) << forbidden->body;
  httplib::Result no_token = bare.Get(AuditStatePath(run, 0, 0));
  ASSERT_TRUE(no_token);
  EXPECT_EQ(no_token->status, 401);
  httplib::Result none = bare.Get("/v1/audit/commitments");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  httplib::Result listed = bare.Get("/v1/audit/commitments", {{"Authorization", std::string("Bearer ") + kSecret}});
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200);
  EXPECT_NE(listed->body.find(HashToHex(run)), std::string::npos);
}

TEST_F(ProvideCliTest, BadRequestsGetTheirErrors) {
  httplib::Client c(provider_->url());
  const httplib::Headers auth = {{"Authorization", std::string("Bearer ") + kSecret}};
  const Hash run = Sha256Of(ReadBytes(dir_ + "/run/commitment.note"));
  auto status = [](const httplib::Result& r) { return r ? r->status : -1; };
  EXPECT_EQ(status(c.Post(AuditLinesPath(run), auth, "{\"indices\":[0,", "application/json")), 400);
  EXPECT_EQ(status(c.Post(AuditLinesPath(run), auth, "{\"indices\":[-1]}", "application/json")), 400);
  std::vector<uint64_t> many(kMaxLinesPerRequest + 1, 0);
  std::string too_many = "{\"indices\":[0";
  for (size_t i = 1; i < many.size(); ++i) too_many += ",0";
  too_many += "]}";
  httplib::Result r = c.Post(AuditLinesPath(run), auth, too_many, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("more than 4096"), std::string::npos) << r->body;
  EXPECT_EQ(status(c.Post(AuditLinesPath(run), auth, std::string(kMaxAuditRequestBytes + 1, ' '), "application/json")),
            413);
  EXPECT_EQ(status(c.Post(AuditLinesPath(run), auth, "{\"indices\":[100000]}", "application/json")), 404);
  EXPECT_EQ(status(c.Get(AuditStatePath(run, 1, 0), auth)), 404);  // not a state step (B_S = 2)
  EXPECT_EQ(status(c.Get(AuditStatePath(run, 0, 9), auth)), 404);  // no block 9
  EXPECT_EQ(status(c.Get("/v1/audit/nothing", auth)), 404);
  EXPECT_EQ(status(c.Get(AuditStatePath(Hash{}, 0, 0), auth)), 403);  // a run the provider does not hold
}

TEST_F(ProvideCliTest, TokensFileReadableByOthersIsRefused) {
  WriteText(dir_ + "/open.tokens", std::string("auditor ") + kSecret + " run\n");
  ASSERT_EQ(::chmod((dir_ + "/open.tokens").c_str(), 0644), 0);
  auto r = RunAftune("provide --run " + dir_ + "/run --tokens " + dir_ + "/open.tokens --port 0");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("chmod 600"), std::string::npos) << r.output;
}

TEST_F(ProvideCliTest, AlteredTensorFailsACell) {
  AlteringProxy proxy(provider_->url(), [](const httplib::Request& req, httplib::Response& res) {
    if (IsTensorAnswer(req) && res.status == 200) res.body.back() ^= 0x01;  // the last value's low bit
  });
  auto r = RunAftune(Audit(Remote(proxy.url()), "tensor.json"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("FAIL"), std::string::npos) << r.output;
  EXPECT_EQ(Report("tensor.json")["verdict"], "fail");
}

TEST_F(ProvideCliTest, WrongProofFailsTheLines) {
  AlteringProxy proxy(provider_->url(), [](const httplib::Request& req, httplib::Response& res) {
    if (!req.path.ends_with("/lines") || res.status != 200) return;
    const size_t at = res.body.find("\"proof\":[\"");  // first proof hash's first digit
    if (at == std::string::npos) return;
    char& c = res.body[at + 10];
    c = c == '0' ? '1' : '0';
  });
  auto r = RunAftune(Audit(Remote(proxy.url()), "proof.json"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("trace.lines"), std::string::npos) << r.output;
}

TEST_F(ProvideCliTest, TruncatedAnswersFailTheCellNamingThem) {
  // A shorter body, sent whole: a malformed safetensors file.
  AlteringProxy shorter(provider_->url(), [](const httplib::Request& req, httplib::Response& res) {
    if (IsTensorAnswer(req) && res.status == 200) res.body.resize(res.body.size() / 2);
  });
  auto r = RunAftune(Audit(Remote(shorter.url()), "shorter.json"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("FAILED cell.opening"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
  // The connection closed half-way through the announced length.
  AlteringProxy cut(provider_->url(), [](const httplib::Request& req, httplib::Response& res) {
    if (!IsTensorAnswer(req) || res.status != 200) return;
    const size_t full = res.body.size();
    std::string half = res.body.substr(0, full / 2);
    res.body.clear();  // else the body is sent, not the provider's bytes
    res.set_content_provider(full, "application/octet-stream",
                             [half = std::move(half)](size_t offset, size_t, httplib::DataSink& sink) {
                               if (offset >= half.size()) return false;  // closes the connection
                               return sink.write(half.data() + offset, half.size() - offset);
                             });
  });
  auto c = RunAftune(Audit(Remote(cut.url()), "cut.json"));
  EXPECT_EQ(c.exit_code, 3) << c.output;
  EXPECT_NE(c.output.find("FAILED cell.opening"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("3 attempt(s)"), std::string::npos) << c.output;
}

// Remote openings with small bounds against answers that are too big, drip
// or never come: each an IOError naming the bound, within the deadline.
TEST_F(ProvideCliTest, OversizedDrippingAndSilentAnswersAreCutOff) {
  using testing::HostileServer;
  HostileServer hostile([](httplib::Server& s) {
    s.Get(".*/state/.*", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(1 << 20, 'x'), "application/octet-stream");  // oversized
    });
    s.Get(".*/activation", [](const httplib::Request&, httplib::Response& res) { HostileServer::Drip(res); });
    s.Get(".*/gradient", [](const httplib::Request&, httplib::Response& res) { HostileServer::Silence(res); });
  });
  RemoteLimits limits = HostileServer::SmallLimits();
  limits.max_answer_bytes = 64 * 1024;
  auto provider = ProviderClient::Create(hostile.url(), kSecret, Hash{}, limits).value();
  auto remote = std::make_unique<RemoteOpenings>(provider.get());
  const auto start = std::chrono::steady_clock::now();
  Result<TensorMap> big = remote->BlockState(0, 0);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("cap of 65536"), std::string::npos) << big.status().ToString();
  Result<std::vector<Tensor>> drip = remote->Boundary(0, 1, BoundaryKind::kActivation);
  ASSERT_FALSE(drip.ok());
  EXPECT_NE(drip.status().message().find("did not complete within 1500 ms"), std::string::npos)
      << drip.status().ToString();
  Result<std::vector<Tensor>> silent = remote->Boundary(0, 1, BoundaryKind::kGradient);
  ASSERT_FALSE(silent.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

}  // namespace
}  // namespace aftune
