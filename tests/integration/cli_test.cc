// `runbox exec` as a user runs it: exit statuses, --json, clear errors (exit 125), and the box's
// fate when runbox itself is interrupted or killed.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "box_fixture.h"

extern char** environ;

namespace runbox::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

struct Cli {
  int status = -1;  // exit status
  std::string out, err;
};

// Starts runbox with args; stdin is /dev/null, stdout and stderr go to the given files (or
// /dev/null).
pid_t Spawn(std::vector<std::string> args, const std::string& out_path = "/dev/null",
            const std::string& err_path = "/dev/null") {
  pid_t pid = ::fork();
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(in, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> argv;
    std::string bin = RUNBOX_BIN;
    argv.push_back(bin.data());
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(99);
  }
  return pid;
}

// Runs runbox with args to its end, capturing stdout and stderr.
Cli RunCli(std::vector<std::string> args) {
  std::string out_path = "/tmp/runbox-cli-out-" + std::to_string(::getpid());
  std::string err_path = "/tmp/runbox-cli-err-" + std::to_string(::getpid());
  pid_t pid = Spawn(std::move(args), out_path, err_path);
  int st = 0;
  ::waitpid(pid, &st, 0);
  Cli c;
  c.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  std::ifstream o(out_path), e(err_path);
  c.out.assign(std::istreambuf_iterator<char>(o), {});
  c.err.assign(std::istreambuf_iterator<char>(e), {});
  ::unlink(out_path.c_str());
  ::unlink(err_path.c_str());
  return c;
}

std::vector<std::string> Exec(std::vector<std::string> probe_args,
                              std::vector<std::string> flags = {}) {
  // RUNBOX_CGROUP_PARENT, when the v2 VM sets it, reaches runbox through its environment.
  std::vector<std::string> a = {"exec", "--ro-bind", ProbeDir() + ":/opt/probe"};
  a.insert(a.end(), flags.begin(), flags.end());
  a.push_back("--");
  a.push_back("/opt/probe/probe");
  a.insert(a.end(), probe_args.begin(), probe_args.end());
  return a;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { RUNBOX_REQUIRE_ROOT(); }
};

TEST_F(CliTest, ExitStatusFollowsTheProgram) {
  EXPECT_EQ(RunCli(Exec({"exit", "0"})).status, 0);
  EXPECT_EQ(RunCli(Exec({"exit", "42"})).status, 42);
  EXPECT_EQ(RunCli(Exec({"signal", "11"})).status, 128 + 11);
  EXPECT_EQ(RunCli(Exec({"spin", "0"}, {"--cpu-time", "0.3"})).status, 137);
  Cli nf = RunCli({"exec", "--", "no-such-program"});
  EXPECT_EQ(nf.status, 127);
  Cli nx = RunCli({"exec", "--", "/etc/passwd"});
  EXPECT_EQ(nx.status, 126);
}

TEST_F(CliTest, JsonResultHasEveryField) {
  Cli c = RunCli(Exec({"alloc", "20"}, {"--json"}));
  ASSERT_EQ(c.status, 0) << c.err;
  auto j = nlohmann::json::parse(c.out);
  EXPECT_EQ(j["status"], "OK");
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["stdout"], "ok\n");
  for (const char* k : {"signal", "cpu_time_ms", "wall_time_ms", "memory_kib", "stdout_truncated",
                        "stderr_truncated", "message", "stderr"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_GE(j["memory_kib"].get<int>(), 20 * 1024);
}

TEST_F(CliTest, BadInputGetsOneClearLineAndExit125) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"exec", "--memory", "12Q", "--", "/bin/true"}, "--memory: invalid size '12Q'"},
      {{"exec", "--memory", "-5M", "--", "/bin/true"}, "invalid size '-5M'"},
      {{"exec", "--cpu-time", "abc", "--", "/bin/true"}, "--cpu-time: invalid time 'abc'"},
      {{"exec", "--ro-bind", "/no/such/path", "--", "/bin/true"},
       "bind source '/no/such/path' does not exist"},
      {{"exec", "--ro-bind", "relative", "--", "/bin/true"}, "absolute paths"},
      {{"exec", "--network", "host", "--", "/bin/true"}, "expected none or loopback"},
      {{"exec", "--cgroup-parent", "/no-such-parent-cgroup", "--", "/bin/true"},
       "cgroup parent /sys/fs/cgroup/"},
      {{"exec", "--slot", "999", "--", "/bin/true"}, "out of range"},
  };
  for (const auto& c : cases) {
    Cli r = RunCli(c.args);
    EXPECT_EQ(r.status, 125) << c.message;
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_THAT(LeftoverCgroups(), ::testing::IsEmpty());
}

TEST_F(CliTest, NotRootGetsOneClearLineAndExit125) {
  // A copy anyone may execute, run as nobody.
  std::string bin = ProbeDir() + "/runbox";
  std::filesystem::copy_file(RUNBOX_BIN, bin, std::filesystem::copy_options::overwrite_existing);
  ::chmod(bin.c_str(), 0755);
  std::string err_path = ProbeDir() + "/err";
  pid_t pid = ::fork();
  if (pid == 0) {
    int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    ::dup2(e, 2);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
      ::_exit(98);
    }
    ::execl(bin.c_str(), bin.c_str(), "exec", "--", "/bin/true", nullptr);
    ::_exit(99);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 125);
  std::ifstream e(err_path);
  std::string err((std::istreambuf_iterator<char>(e)), {});
  EXPECT_THAT(err, HasSubstr("runbox must run as root"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  std::filesystem::remove(bin);
  std::filesystem::remove(err_path);
}

bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

TEST_F(CliTest, SigintKillsTheBoxAndStillReports) {
  std::string result = "/tmp/runbox-cli-result-" + std::to_string(::getpid());
  uint32_t uid = TestHost().uid_base + 13;
  pid_t pid = Spawn(Exec({"sleep", "60000"}, {"--slot", "13", "--result", result}));
  ASSERT_TRUE(WaitUntil([&] { return !ProcessesWithUid(uid, uid).empty(); }, 5s));
  ::kill(pid, SIGINT);
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 130);
  std::ifstream in(result);
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["status"], "SE");
  EXPECT_THAT(j["message"].get<std::string>(), HasSubstr("SIGINT"));
  EXPECT_THAT(ProcessesWithUid(uid, uid), ::testing::IsEmpty());
  ::unlink(result.c_str());
}

TEST_F(CliTest, SigkilledRunboxTakesItsBoxAlongAndTheNextRunReclaims) {
  uint32_t uid = TestHost().uid_base + 14;
  pid_t pid = Spawn(Exec({"sleep", "60000"}, {"--slot", "14"}));
  ASSERT_TRUE(WaitUntil([&] { return !ProcessesWithUid(uid, uid).empty(); }, 5s));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  // isolate fails this: its program keeps running after its keeper dies.
  EXPECT_TRUE(WaitUntil([&] { return ProcessesWithUid(uid, uid).empty(); }, 2s))
      << "the box outlived a SIGKILLed runbox";
  // The killed runbox left its cgroup and workdir mount; the next run in that slot cleans up.
  Cli again = RunCli(Exec({"exit", "0"}, {"--slot", "14"}));
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_THAT(LeftoverCgroups(), ::testing::IsEmpty());
}

// `runbox exec --copy-out` of a box that made a 3000-level directory chain or 1 GiB of sparse
// files: runbox neither crashes nor fills the host's disk; the copy is refused with a message
// that names the budget, the exit status says it was no success, and the destination stays
// empty. A file with 256 names comes out as one file with 256 links.
TEST_F(CliTest, CopyOutOfAHostileBoxIsBoundedAndSaysWhy) {
  std::string out = ProbeDir() + "-cli-copy-out";
  std::filesystem::create_directories(out);
  for (const auto& [args, budget] :
       {std::pair{std::vector<std::string>{"deepdir", "3000"}, "nest deeper than 64 levels"},
        std::pair{std::vector<std::string>{"sparse", "16", "64"}, "budget of 64 MiB"}}) {
    Cli c = RunCli(Exec(args, {"--copy-out", out}));
    EXPECT_EQ(c.status, 1) << c.err;
    EXPECT_THAT(c.err, HasSubstr("runbox: OLE: "));
    EXPECT_THAT(c.err, HasSubstr(budget));
    EXPECT_THAT(c.err, HasSubstr("copy-out budget"));
    EXPECT_TRUE(std::filesystem::is_empty(out)) << args[0];
  }
  Cli links = RunCli(Exec({"links", "256", "1024"}, {"--copy-out", out}));
  EXPECT_EQ(links.status, 0) << links.err;
  size_t names = 0;
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    names += e.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(names, 256u);
  struct stat st;
  ASSERT_EQ(::stat((out + "/linked").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 256u);
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace runbox::testing
