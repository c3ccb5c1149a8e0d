#include "sandbox/program_message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "sandbox/init_protocol.h"

namespace runbox::sandbox {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ExecCandidatesTest, APathIsItselfAndANameIsLookedUpInPath) {
  EXPECT_THAT(ExecCandidates("./a.out", {"PATH=/x"}), ElementsAre("./a.out"));
  EXPECT_THAT(ExecCandidates("python3", {}), ElementsAre("/usr/bin/python3", "/bin/python3"));
  // An empty PATH entry is the workdir, as in a shell; the last PATH= wins.
  EXPECT_THAT(ExecCandidates("go", {"PATH=/nope", "HOME=/box", "PATH=/usr/local/go/bin::/bin"}),
              ElementsAre("/usr/local/go/bin/go", "./go", "/bin/go"));
}

// The init reads: header, then each string as a uint32_t length and its bytes.
std::vector<std::string> Decode(const std::string& message, ProgramHeader* header) {
  std::memcpy(header, message.data(), sizeof *header);
  std::vector<std::string> out;
  size_t pos = sizeof *header;
  while (pos < message.size()) {
    uint32_t len = 0;
    std::memcpy(&len, message.data() + pos, sizeof len);
    pos += sizeof len;
    out.push_back(message.substr(pos, len));
    pos += len;
  }
  return out;
}

TEST(ProgramMessageTest, ArgvThenCandidatesLengthPrefixed) {
  auto message = ProgramMessage({"sh", "-c", ""}, {"PATH=/bin:/usr/bin"});
  ASSERT_TRUE(message) << message.error().message;
  ProgramHeader header{};
  EXPECT_THAT(Decode(*message, &header), ElementsAre("sh", "-c", "", "/bin/sh", "/usr/bin/sh"));
  EXPECT_EQ(header.argc, 3u);
  EXPECT_EQ(header.exec_count, 2u);
  EXPECT_EQ(header.bytes, message->size() - sizeof header);
}

TEST(ProgramMessageTest, ANulIsRefusedAndShownEscaped) {
  auto message = ProgramMessage({"prog"}, {std::string("PATH=/b\0in", 10)});
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(message.error().message, HasSubstr("'/b\\0in/prog' is too long or holds a NUL"));
}

}  // namespace
}  // namespace runbox::sandbox
