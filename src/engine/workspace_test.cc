#include "engine/workspace.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/files.h"

namespace runbox::engine {
namespace {

TEST(ValidateFileName, AcceptsRelativePaths) {
  for (const char* ok : {"main.cpp", "lib/util.h", "a/b/c.txt", ".hidden", "a..b", "Main.java"}) {
    EXPECT_TRUE(ValidateFileName(ok)) << ok;
  }
}

TEST(ValidateFileName, RejectsEscapes) {
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/", "./a", "..",
                          "a/.", "x\ny"}) {
    auto s = ValidateFileName(bad);
    EXPECT_FALSE(s) << bad;
    if (!s) {
      EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_FALSE(ValidateFileName(std::string(256, 'a')));
  EXPECT_FALSE(ValidateFileName(std::string("a\0b", 3)));
}

TEST(Workspace, HoldsAnOutDirAndCleansUp) {
  std::string parent = ::testing::TempDir() + "/ws-" + std::to_string(::getpid());
  std::string path;
  {
    auto ws = Workspace::Create(parent);
    ASSERT_TRUE(ws) << ws.error().message;
    path = ws->path();
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);
    EXPECT_TRUE(std::filesystem::is_directory(ws->out_dir()));
    std::ofstream(ws->out_dir() + "/artifact") << "x";  // what a compile box leaves
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  std::filesystem::remove_all(parent);
}

}  // namespace
}  // namespace runbox::engine
