#include "serve/postgres.h"

#include <gtest/gtest.h>

namespace aftune {
namespace {

TEST(LibpqUri, RecognisesBothSchemes) {
  EXPECT_TRUE(IsPostgresUri("postgresql://db.example/receipts"));
  EXPECT_TRUE(IsPostgresUri("postgres:///receipts?host=/run/postgresql"));
  EXPECT_FALSE(IsPostgresUri("receipts.db"));
  EXPECT_FALSE(IsPostgresUri("/var/lib/postgresql.db"));
  EXPECT_FALSE(IsPostgresUri("mysql://db.example/receipts"));
}

TEST(LibpqUri, RedactsThePasswordWhereverItIs) {
  EXPECT_EQ(RedactPassword("postgresql://aftune:s3cret@db.example:5432/receipts"),
            "postgresql://aftune:***@db.example:5432/receipts");
  EXPECT_EQ(RedactPassword("postgres://aftune@db.example/receipts?password=s3cret&sslmode=require"),
            "postgres://aftune@db.example/receipts?password=***&sslmode=require");
  EXPECT_EQ(RedactPassword("host=db.example password=s3cret dbname=receipts"),
            "host=db.example password=*** dbname=receipts");
  EXPECT_EQ(RedactPassword("postgresql://aftune@db.example/receipts"), "postgresql://aftune@db.example/receipts");
  EXPECT_EQ(RedactPassword("postgresql:///receipts?host=/tmp/a:b@c"), "postgresql:///receipts?host=/tmp/a:b@c");
}

// A server that cannot be reached is an error naming it, never its password.
TEST(LibpqUri, AFailedConnectionNamesTheServerWithoutThePassword) {
  Result<PgConnection> conn = PgConnection::Open("postgresql://aftune:s3cret@/receipts?host=/nonexistent/dir");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), Status::Code::kIOError);
  EXPECT_NE(conn.status().message().find("cannot connect to postgresql://aftune:***@/receipts"), std::string::npos)
      << conn.status().message();
  EXPECT_EQ(conn.status().message().find("s3cret"), std::string::npos) << conn.status().message();
}

}  // namespace
}  // namespace aftune
