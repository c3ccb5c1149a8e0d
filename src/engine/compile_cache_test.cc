#include "engine/compile_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "engine/workspace.h"

namespace runbox::engine {
namespace {

CompileKeyInput Base() {
  return {"cpp", "g++ 12.2.0", {"/usr/bin/g++", "-O2", "main.cpp"}, {}, {{"main.cpp", "int main(){}"}}};
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CompileCacheKey, StableAndHex) {
  EXPECT_EQ(CompileCacheKey(Base()), CompileCacheKey(Base()));
  EXPECT_EQ(CompileCacheKey(Base()).size(), 64u);
}

TEST(CompileCacheKey, EveryFieldMatters) {
  const std::string k = CompileCacheKey(Base());
  auto changed = [&](auto mutate) {
    CompileKeyInput in = Base();
    mutate(in);
    return CompileCacheKey(in);
  };
  EXPECT_NE(k, changed([](auto& in) { in.language_id = "c"; }));
  EXPECT_NE(k, changed([](auto& in) { in.version = "g++ 13"; }));
  EXPECT_NE(k, changed([](auto& in) { in.argv.push_back("-g"); }));
  EXPECT_NE(k, changed([](auto& in) { in.options.push_back("-g"); }));
  EXPECT_NE(k, changed([](auto& in) { in.files[0].second += " "; }));
  EXPECT_NE(k, changed([](auto& in) { in.files[0].first = "x.cpp"; }));
  EXPECT_NE(k, changed([](auto& in) { in.files.push_back({"a.h", ""}); }));
}

TEST(CompileCacheKey, NoAmbiguousConcatenation) {
  CompileKeyInput a = Base(), b = Base();
  a.argv = {"ab", "c"};
  b.argv = {"a", "bc"};
  EXPECT_NE(CompileCacheKey(a), CompileCacheKey(b));
  a = Base();
  b = Base();
  a.files = {{"a", "bc"}};
  b.files = {{"ab", "c"}};
  EXPECT_NE(CompileCacheKey(a), CompileCacheKey(b));
}

TEST(CompileCacheKey, FileOrderDoesNotMatter) {
  CompileKeyInput a = Base(), b = Base();
  a.files = {{"a", "1"}, {"b", "2"}};
  b.files = {{"b", "2"}, {"a", "1"}};
  EXPECT_EQ(CompileCacheKey(a), CompileCacheKey(b));
}

class CompileCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/cc-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    RemoveTree(dir_);
  }
  void TearDown() override { RemoveTree(dir_); }
  std::string Build(CompileCache& c, const std::string& key, size_t bytes) {
    auto tmp = c.NewTempEntry();
    EXPECT_TRUE(tmp);
    std::ofstream(*tmp + "/box/main") << std::string(bytes, 'x');
    auto e = c.Commit(key, *tmp, "out", "warning: x");
    EXPECT_TRUE(e) << (e ? "" : e.error().message);
    return e ? e->box_dir : "";
  }
  std::string dir_;
};

TEST_F(CompileCacheTest, MissThenHit) {
  CompileCache c(dir_, 1 << 20);
  ASSERT_TRUE(c.Init());
  const std::string key(64, 'a');
  EXPECT_FALSE(c.Lookup(key));
  std::string box = Build(c, key, 10);
  auto hit = c.Lookup(key);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->box_dir, box);
  EXPECT_EQ(hit->compile_stdout, "out");
  EXPECT_EQ(hit->compile_stderr, "warning: x");
  EXPECT_TRUE(std::filesystem::exists(box + "/main"));
}

TEST_F(CompileCacheTest, RejectsNonKeys) {
  CompileCache c(dir_, 1 << 20);
  ASSERT_TRUE(c.Init());
  EXPECT_FALSE(c.Lookup("../etc"));
  EXPECT_FALSE(c.Lookup(""));
}

TEST_F(CompileCacheTest, SecondCommitOfOneKeyKeepsTheFirst) {
  CompileCache c(dir_, 1 << 20);
  ASSERT_TRUE(c.Init());
  const std::string key(64, 'b');
  Build(c, key, 10);
  auto tmp = c.NewTempEntry();
  ASSERT_TRUE(tmp);
  std::ofstream(*tmp + "/box/main") << "second";
  auto e = c.Commit(key, *tmp, "", "");
  ASSERT_TRUE(e);
  EXPECT_EQ(std::filesystem::file_size(e->box_dir + "/main"), 10u);
  EXPECT_FALSE(std::filesystem::exists(*tmp));
}

TEST_F(CompileCacheTest, ConcurrentBuildersOfOneKey) {
  CompileCache c(dir_, 1 << 20);
  ASSERT_TRUE(c.Init());
  const std::string key(64, 'c');
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto tmp = c.NewTempEntry();
      if (!tmp) return;
      std::ofstream(*tmp + "/box/main") << "same";
      if (c.Commit(key, *tmp, "", "")) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);  // no temporary directories left behind
}

TEST_F(CompileCacheTest, TrimRemovesLeastRecentlyUsed) {
  CompileCache c(dir_, 2500);
  ASSERT_TRUE(c.Init());
  const std::string old_key(64, '1'), mid_key(64, '2'), new_key(64, '3');
  Build(c, old_key, 1000);
  Build(c, mid_key, 1000);
  Build(c, new_key, 1000);
  // Age the entries beyond the in-use grace period: old oldest.
  auto age = [&](const std::string& key, int hours) {
    auto t = std::filesystem::file_time_type::clock::now() - std::chrono::hours(hours);
    std::filesystem::last_write_time(dir_ + "/" + key, t);
  };
  age(old_key, 3);
  age(mid_key, 2);
  age(new_key, 1);
  EXPECT_EQ(c.Trim(), 1);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/" + old_key));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/" + mid_key));
  // A hit refreshes: now mid is the most recent, new is evicted next.
  ASSERT_TRUE(c.Lookup(mid_key));
  CompileCache small(dir_, 1500);
  age(new_key, 1);
  small.Trim();
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/" + mid_key));
}

}  // namespace
}  // namespace runbox::engine
