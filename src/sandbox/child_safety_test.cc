// child.cc runs between clone() and execve() in a copy of a multi-threaded process: a cheap
// guard that it uses nothing that allocates, locks or throws (STYLE.md §5).

#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

// The box's init (runbox-init) holds to the same rules: a tiny static program that starts fast
// and has no allocator, no stdio and no locale to speak of.
TEST(ChildSafety, InitCodeUsesNoAllocatingOrBufferedFacilities) {
  std::ifstream in(RUNBOX_INIT_SOURCE);
  ASSERT_TRUE(in) << RUNBOX_INIT_SOURCE;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string code = std::regex_replace(ss.str(), std::regex("//[^\n]*"), "");
  for (const char* banned : {"std::string", "std::vector", "new ", "throw", "printf", "malloc",
                             "<cstdio>", "<stdio.h>", "<iostream>", "<string>", "<vector>",
                             "setlocale", "std::"}) {
    EXPECT_EQ(code.find(banned), std::string::npos) << "runbox_init.cc uses " << banned;
  }
}

TEST(ChildSafety, ChildCodeUsesNoAllocatingOrLockingFacilities) {
  std::ifstream in(RUNBOX_CHILD_SOURCE);
  ASSERT_TRUE(in) << RUNBOX_CHILD_SOURCE;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string code = ss.str();
  // Strip comments so that prose may mention what the code must not use.
  code = std::regex_replace(code, std::regex("//[^\n]*"), "");
  for (const char* banned : {"std::string", "std::vector", "new ", "throw", "printf", "malloc",
                             "LOG", "std::cout", "std::cerr", "Result<", "fork(",
                             // glibc's set*id wrappers synchronise with threads that do not
                             // exist after clone: raw syscalls only.
                             "::setresuid", "::setresgid", "::setuid", "::setgid", "::setgroups"}) {
    EXPECT_EQ(code.find(banned), std::string::npos) << "child.cc uses " << banned;
  }
}
