// The audit service's tokens file: the grammar, the mode, the runs a token
// opens and the constant-time match.
#include "provide/audit_tokens.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace aftune {
namespace {

TEST(AuditTokens, ParsesClientsSecretsAndRuns) {
  auto t = ParseAuditTokens("# auditors\nalice secret-of-alice-0001 run1 run2\n\nbob secret-of-bob-000002 *\n", "f");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 2u);
  const AuditToken* alice = MatchAuditToken(*t, "secret-of-alice-0001");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->client, "alice");
  EXPECT_TRUE(alice->MayOpen("run2"));
  EXPECT_FALSE(alice->MayOpen("run3"));
  const AuditToken* bob = MatchAuditToken(*t, "secret-of-bob-000002");
  ASSERT_NE(bob, nullptr);
  EXPECT_TRUE(bob->MayOpen("anything"));
  EXPECT_EQ(MatchAuditToken(*t, "secret-of-alice-000"), nullptr);
  EXPECT_EQ(MatchAuditToken(*t, ""), nullptr);
}

TEST(AuditTokens, RefusesMalformedLinesNamingThem) {
  for (const char* bad : {"alice secret-of-alice-0001\n",             // no run
                          "alice  secret-of-alice-0001 run\n",        // double space
                          "alice short run\n",                        // secret under 16
                          "a secret-of-alice-0001 r\na secret-of-bob-000002 r\n",  // client twice
                          "a secret-of-alice-0001 r\nb secret-of-alice-0001 r\n",  // secret twice
                          "# only a comment\n"}) {
    auto t = ParseAuditTokens(bad, "tokens");
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(t.status().message().find("tokens"), std::string::npos);
  }
}

TEST(AuditTokens, FileReadableByOthersIsRefused) {
  const std::string path = (std::filesystem::temp_directory_path() / ("aftune-tokens-" + std::to_string(::getpid()))).string();
  std::ofstream(path) << "alice secret-of-alice-0001 run\n";
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  auto open = ReadAuditTokensFile(path);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("chmod 600"), std::string::npos);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_TRUE(ReadAuditTokensFile(path).ok());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace aftune
