#include "base/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/file.h"
#include "base/mapped_file.h"

namespace aftune {
namespace {

std::string TempPath(const std::string& name) {
  std::string dir = (std::filesystem::temp_directory_path() / ("aftune-base-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

size_t FilesIn(const std::string& path) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    ++n;
  return n;
}

TEST(AtomicFileTest, AppearsOnlyOnCommit) {
  const std::string path = TempPath("commit");
  std::filesystem::remove(path);
  {
    AtomicFileWriter w = AtomicFileWriter::Create(path).value();
    ASSERT_TRUE(w.Append("abc").ok());
    ASSERT_TRUE(w.Append("def").ok());
    EXPECT_EQ(w.size(), 6u);
    EXPECT_FALSE(FileExists(path));
    ASSERT_TRUE(w.Commit().ok());
  }
  EXPECT_EQ(ReadFile(path).value(), "abcdef");
}

TEST(AtomicFileTest, AbandonedWriterLeavesTheOldFileAndNoTemporary) {
  const std::string path = TempPath("abandon");
  ASSERT_TRUE(WriteFileAtomic(path, "old").ok());
  const size_t before = FilesIn(path);
  {
    AtomicFileWriter w = AtomicFileWriter::Create(path).value();
    ASSERT_TRUE(w.Append("new, but never committed").ok());
    AtomicFileWriter moved = std::move(w);  // the moved-from writer must not remove anything
  }
  EXPECT_EQ(ReadFile(path).value(), "old");
  EXPECT_EQ(FilesIn(path), before);
}

TEST(AtomicFileTest, CreateInMissingDirectoryNamesTheFile) {
  Result<AtomicFileWriter> w = AtomicFileWriter::Create("/nonexistent-dir-aftune/x");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Status::Code::kIOError);
  EXPECT_NE(w.status().message().find("/nonexistent-dir-aftune/x.tmp."), std::string::npos);
}

TEST(MappedFileTest, MapsTheFileAndReportsMissingOnes) {
  const std::string path = TempPath("mapped");
  ASSERT_TRUE(WriteFileAtomic(path, "mapped bytes").ok());
  std::unique_ptr<ByteSource> m = MapFile(path).value();
  EXPECT_EQ(m->bytes(), "mapped bytes");
  ASSERT_TRUE(WriteFileAtomic(path + "-empty", "").ok());
  EXPECT_TRUE(MapFile(path + "-empty").value()->bytes().empty());
  Result<std::unique_ptr<ByteSource>> missing = MapFile(path + "-missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find(path + "-missing"), std::string::npos);
  Result<std::unique_ptr<ByteSource>> dir = MapFile(std::filesystem::path(path).parent_path().string());
  EXPECT_FALSE(dir.ok());
}

}  // namespace
}  // namespace aftune
