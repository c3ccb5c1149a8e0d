// Real boxes, checked from the host side. Suites named Limits*, Accounting* and Cleanup* are the
// cgroup-dependent ones that `make test` runs again inside the cgroup-v2-only VM.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "box_fixture.h"
#include "sandbox/cgroup.h"
#include "sandbox/slot.h"

namespace runbox::testing {
namespace {

using sandbox::RunStatus;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

sandbox::RunRequest ProbeRequest(std::vector<std::string> args, int stdin_fd = -1);

class BoxTest : public ::testing::Test {
 protected:
  void SetUp() override { RUNBOX_REQUIRE_ROOT(); }
};

// ---- limits: each enforced with the right status --------------------------------------------
class LimitsTest : public BoxTest {};

TEST_F(LimitsTest, CpuTimeGivesTle) {
  auto p = ProbePolicy();
  p.limits.cpu_time = 500ms;
  auto r = RunProbe(p, {"spin", "0"});
  EXPECT_EQ(r.outcome.status, RunStatus::kTimeLimit);
  EXPECT_THAT(r.outcome.message, HasSubstr("CPU time limit of 500 ms"));
  EXPECT_GE(r.outcome.cpu_time_ms, 500u);
  EXPECT_LT(r.outcome.cpu_time_ms, 1500u);
}

TEST_F(LimitsTest, WallTimeGivesTleForASleeper) {
  auto p = ProbePolicy();
  p.limits.wall_time = 300ms;
  auto r = RunProbe(p, {"sleep", "10000"});
  EXPECT_EQ(r.outcome.status, RunStatus::kTimeLimit);
  EXPECT_THAT(r.outcome.message, HasSubstr("wall time limit"));
  EXPECT_LT(r.outcome.wall_time_ms, 3000u);
}

TEST_F(LimitsTest, MemoryBombGivesMle) {
  auto p = ProbePolicy();
  p.limits.memory_bytes = 64ull << 20;
  auto r = RunProbe(p, {"alloc", "1024"});
  EXPECT_EQ(r.outcome.status, RunStatus::kMemoryLimit);
  EXPECT_THAT(r.outcome.message, HasSubstr("memory limit of 64 MiB"));
  EXPECT_LE(r.outcome.memory_kib, 64u * 1024);
}

TEST_F(LimitsTest, PidsCapForkAndThreads) {
  auto p = ProbePolicy();
  p.limits.pids = 10;
  auto forks = RunProbe(p, {"fork", "50"});
  ASSERT_EQ(forks.outcome.status, RunStatus::kOk) << forks.outcome.message;
  EXPECT_LT(std::stoi(forks.out), 10);
  EXPECT_GT(std::stoi(forks.out), 3);
  auto threads = RunProbe(p, {"threads", "50"});
  EXPECT_LT(std::stoi(threads.out), 10);
}

TEST_F(LimitsTest, ForkBombIsContainedAndTheHostCanStillFork) {
  auto p = ProbePolicy();
  p.limits.pids = 32;
  p.limits.cpu_time = 1000ms;
  p.limits.wall_time = 2000ms;
  auto r = RunProbe(p, {"forkbomb"}, 7);
  EXPECT_EQ(r.outcome.status, RunStatus::kTimeLimit) << r.outcome.message;
  pid_t child = ::fork();
  ASSERT_GE(child, 0) << "the host cannot fork after a fork bomb";
  if (child == 0) {
    ::_exit(0);
  }
  ::waitpid(child, nullptr, 0);
  uint32_t uid = TestHost().uid_base + 7;
  EXPECT_THAT(ProcessesWithUid(uid, uid), ::testing::IsEmpty());
}

TEST_F(LimitsTest, OutputFloodGivesOleAndKeepsWhatFits) {
  auto p = ProbePolicy();
  p.limits.output_bytes = 100000;
  auto r = RunProbe(p, {"output", "100000000"});
  EXPECT_EQ(r.outcome.status, RunStatus::kOutputLimit);
  EXPECT_TRUE(r.outcome.stdout_truncated);
  EXPECT_EQ(r.outcome.stdout_data.size(), 100000u);
  EXPECT_THAT(r.outcome.message, HasSubstr("output limit"));
}

TEST_F(LimitsTest, FileSizeGivesOle) {
  auto p = ProbePolicy();
  p.limits.file_size_bytes = 1 << 20;
  auto r = RunProbe(p, {"fill", "/box"});
  EXPECT_EQ(r.outcome.status, RunStatus::kOutputLimit);
  EXPECT_EQ(r.outcome.signal, SIGXFSZ);
  EXPECT_THAT(r.outcome.message, HasSubstr("file size limit of 1 MiB"));
}

TEST_F(LimitsTest, DiskFillerHitsEnospcInWorkdirAndTmp) {
  auto p = ProbePolicy();
  p.limits.disk_bytes = 8ull << 20;
  p.limits.file_size_bytes = 1ull << 30;
  for (const char* dir : {"/box", "/tmp", "/dev/shm"}) {
    auto r = RunProbe(p, {"fill", dir});
    ASSERT_EQ(r.outcome.status, RunStatus::kOk) << dir << ": " << r.outcome.message;
    long long bytes = 0;
    char err[64] = {};
    ASSERT_EQ(std::sscanf(r.out.c_str(), "%lld %63s", &bytes, err), 2) << r.out;
    EXPECT_STREQ(err, "ENOSPC") << dir;
    EXPECT_LE(bytes, 8ll << 20) << dir;
  }
}

TEST_F(LimitsTest, OpenFilesAndStack) {
  auto p = ProbePolicy();
  p.limits.open_files = 32;
  auto files = RunProbe(p, {"files", "100"});
  EXPECT_EQ(files.out, "29");  // 32 minus stdin, stdout, stderr
  p.limits.stack_bytes = 1 << 20;
  auto deep = RunProbe(p, {"recurse"});
  EXPECT_EQ(deep.outcome.status, RunStatus::kSignaled);
  EXPECT_EQ(deep.outcome.signal, SIGSEGV);
}

// ---- accounting -------------------------------------------------------------------------------
class AccountingTest : public BoxTest {};

// The truth for CPU time is what the kernel charged to the workload's processes, as the probe
// reads it from getrusage at its end: process start-up included, which matters in the emulated
// v2 VM, where an exec costs ~0.3 s of CPU.
double ChargedMs(const std::string& out) {
  double ms = -1;
  std::sscanf(out.c_str(), "ok %lf", &ms);
  return ms;
}

TEST_F(AccountingTest, CpuTimeOfAKnownWorkloadWithinTenPercent) {
  auto r = RunProbe(ProbePolicy(), {"spin", "1000"});
  ASSERT_EQ(r.outcome.status, RunStatus::kOk) << r.outcome.message;
  double truth = ChargedMs(r.out);
  ASSERT_GE(truth, 1000) << r.out;
  EXPECT_GE(r.outcome.cpu_time_ms, truth * 0.9);
  EXPECT_LE(r.outcome.cpu_time_ms, truth * 1.1);
  EXPECT_GE(r.outcome.wall_time_ms, 900u);
}

TEST_F(AccountingTest, CpuTimeCountsTheWholeTree) {
  // Four processes spinning 250 ms each: ~1000 ms for the tree, not the parent's ~250.
  auto r = RunProbe(ProbePolicy(), {"spin", "250", "4"});
  ASSERT_EQ(r.outcome.status, RunStatus::kOk) << r.outcome.message;
  double truth = ChargedMs(r.out);
  ASSERT_GE(truth, 1000) << r.out;
  EXPECT_GE(r.outcome.cpu_time_ms, truth * 0.9);
  EXPECT_LE(r.outcome.cpu_time_ms, truth * 1.1);
}

TEST_F(AccountingTest, PeakMemoryOfAKnownWorkloadWithinTenPercent) {
  auto r = RunProbe(ProbePolicy(), {"alloc", "100"});
  ASSERT_EQ(r.outcome.status, RunStatus::kOk) << r.outcome.message;
  EXPECT_GE(r.outcome.memory_kib, 100u * 1024);
  EXPECT_LE(r.outcome.memory_kib, 110u * 1024);
}

// ---- isolation ----------------------------------------------------------------------------------
class IsolationTest : public BoxTest {};

TEST_F(IsolationTest, NotRootNoCapabilitiesNoNewPrivs) {
  auto r = RunProbe(ProbePolicy(), {"id"});
  EXPECT_EQ(r.out, "uid=1000 gid=1000 capeff=0 capbnd=0 nnp=1");
}

TEST_F(IsolationTest, HostFilesOutsideTheBindsCannotBeReadOrWritten) {
  std::string secret = ProbeDir() + "/../runbox-secret-" + std::to_string(::getpid());
  std::ofstream(secret) << "secret";
  for (const std::string& path : {std::string("/etc/shadow"), std::string("/root/.bashrc"),
                                  secret, std::string("/home"), std::string("/var/log/syslog")}) {
    auto r = RunProbe(ProbePolicy(), {"read", path});
    EXPECT_NE(r.out, "ok") << path;
  }
  for (const std::string& path : {std::string("/usr/bin/evil"), std::string("/etc/passwd"),
                                  std::string("/evil"), std::string("/opt/probe/evil"),
                                  std::string("/proc/sys/kernel/hostname")}) {
    auto r = RunProbe(ProbePolicy(), {"write", path});
    EXPECT_THAT(r.out, ::testing::AnyOf("EROFS", "EACCES", "EPERM", "ENOENT")) << path;
  }
  std::filesystem::remove(secret);
  EXPECT_FALSE(std::filesystem::exists("/usr/bin/evil"));
}

TEST_F(IsolationTest, HostLoopbackListenerIsUnreachable) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(s.get(), 16), 0);
  socklen_t len = sizeof addr;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  std::string port = std::to_string(ntohs(addr.sin_port));

  auto none = RunProbe(ProbePolicy(), {"connect", "127.0.0.1", port});
  EXPECT_EQ(none.out, "ENETUNREACH");
  auto p = ProbePolicy();
  p.network = sandbox::Network::kLoopback;
  auto lo = RunProbe(p, {"connect", "127.0.0.1", port});
  EXPECT_EQ(lo.out, "ECONNREFUSED");  // the box's own loopback: nobody listens there
  // And the listener saw nothing.
  ::fcntl(s.get(), F_SETFL, O_NONBLOCK);
  EXPECT_LT(::accept(s.get(), nullptr, nullptr), 0);
}

TEST_F(IsolationTest, HostProcessesAreInvisibleAndUnreachable) {
  auto procs = RunProbe(ProbePolicy(), {"procs"});
  EXPECT_EQ(procs.out, "1 2");  // the box's init and the probe itself
  auto kill = RunProbe(ProbePolicy(), {"kill", std::to_string(::getpid()), "9"});
  EXPECT_EQ(kill.out, "ESRCH");
}

TEST_F(IsolationTest, SeccompDeniesOrKills) {
  for (const char* name : {"mount", "unshare", "clone_newuser", "ptrace", "bpf", "perf_event_open",
                           "keyctl", "userfaultfd", "io_uring_setup", "setns",
                           "process_vm_readv"}) {
    auto r = RunProbe(ProbePolicy(), {"syscall", name});
    EXPECT_EQ(r.out, "EPERM") << name;
  }
  for (const char* name : {"kexec_load", "init_module", "reboot", "pivot_root", "open_by_handle_at",
                           "settimeofday", "swapon", "tiocsti"}) {
    auto r = RunProbe(ProbePolicy(), {"syscall", name});
    EXPECT_EQ(r.outcome.status, RunStatus::kSignaled) << name;
    EXPECT_EQ(r.outcome.signal, SIGSYS) << name;
    EXPECT_THAT(r.outcome.message, HasSubstr("forbidden")) << name;
  }
}

// vsock reaches the hypervisor and the host's vsock ports outside every network namespace;
// packet, alg, key and bluetooth sockets are kernel surface no program needs. The box's own
// families still work.
TEST_F(IsolationTest, OnlyTheNeededSocketFamiliesExist) {
  for (const char* family : {"vsock", "packet", "alg", "key", "bluetooth"}) {
    auto r = RunProbe(ProbePolicy(), {"socket", family});
    EXPECT_EQ(r.out, "EAFNOSUPPORT") << family;
    EXPECT_EQ(r.outcome.status, RunStatus::kRuntimeError) << family << ": " << r.outcome.message;
  }
  for (const char* family : {"unix", "inet", "inet6", "netlink"}) {
    auto r = RunProbe(ProbePolicy(), {"socket", family});
    EXPECT_EQ(r.out, "ok") << family;
  }
}

TEST_F(IsolationTest, CleanEnvironmentAndOnlyThreeFds) {
  auto env = RunProbe(ProbePolicy(), {"env"});
  EXPECT_THAT(env.out, HasSubstr("PATH=/usr/bin:/bin"));
  EXPECT_THAT(env.out, HasSubstr("HOME=/box"));
  EXPECT_THAT(env.out, ::testing::Not(HasSubstr("CI=")));
  sandbox::RunRequest req;
  req.argv = {"/bin/ls", "/proc/self/fd"};
  auto r = sandbox::Run(ProbePolicy(), req, TestHost());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stdout_data, "0\n1\n2\n3\n");  // 3 is ls's own directory handle
}

TEST_F(IsolationTest, ProgramsCanReopenTheirStdio) {
  // sqlite's `.import /dev/stdin` and node's readFileSync('/dev/stdin') reopen the pipe.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "piped", 5), 5);
  ::close(fds[1]);
  sandbox::RunRequest req;
  req.argv = {"/bin/sh", "-c", "cat /dev/stdin; echo ' out' > /dev/stdout; echo err > /dev/stderr"};
  req.stdin_fd = fds[0];
  auto r = sandbox::Run(ProbePolicy(), req, TestHost());
  ::close(fds[0]);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->stdout_data, "piped out\n");
  EXPECT_EQ(r->stderr_data, "err\n");
}

TEST_F(IsolationTest, TheBoxCannotReadRunboxsCommandLineOrEnvironment) {
  // The box's init is a copy of the supervising process: its argv and environment (a server's
  // flags, tokens in its environment) must not be readable through /proc/1.
  ::setenv("RUNBOX_TEST_SECRET", "hunter2", 1);
  sandbox::RunRequest req;
  req.argv = {"/bin/sh", "-c", "cat /proc/1/cmdline /proc/1/environ 2>/dev/null; echo end"};
  auto r = sandbox::Run(ProbePolicy(), req, TestHost());
  ::unsetenv("RUNBOX_TEST_SECRET");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(r->stdout_data, ::testing::Not(HasSubstr("sandbox_integration_test")));
  EXPECT_THAT(r->stdout_data, ::testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(r->stdout_data, HasSubstr("end"));
}

// fs.suid_dumpable set for a test's duration and restored after it.
class SuidDumpable {
 public:
  explicit SuidDumpable(const std::string& value) {
    std::ifstream in(kPath);
    std::getline(in, old_);
    std::ofstream(kPath) << value << "\n";
  }
  ~SuidDumpable() {
    if (!old_.empty()) {
      std::ofstream(kPath) << old_ << "\n";
    }
  }
  SuidDumpable(const SuidDumpable&) = delete;
  SuidDumpable& operator=(const SuidDumpable&) = delete;

 private:
  static constexpr const char* kPath = "/proc/sys/fs/suid_dumpable";
  std::string old_;
};

std::string RandomHex(size_t bytes) {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(urandom.get()));
    out += hex;
  }
  return out;
}

// A box's init used to be a copy-on-write fork of the supervisor: a server's API keys and other
// users' sources, stdin and results were in its memory, and with fs.suid_dumpable=1 (which
// makes the uid change leave it dumpable) the program read them all through /proc/1/mem. Now
// the init is runbox-init, executed from a memfd before the program exists, and not dumpable.
TEST_F(IsolationTest, APreparedBoxHoldsNoneOfTheSupervisorsMemory) {
  // A random marker in this process's heap (and environment) before the box is made: a fork
  // would carry it into the box.
  auto marker = std::make_unique<std::string>("runbox-marker-" + RandomHex(25));
  ASSERT_EQ(marker->size(), 64u);
  ::setenv("RUNBOX_TEST_MARKER", marker->c_str(), 1);
  SuidDumpable dumpable("1");
  const int slot = 16;
  const uint32_t uid = TestHost().uid_base + slot;
  auto policy = ProbePolicy();
  auto box = sandbox::Box::Prepare(policy, TestHost(), sandbox::BoxOptions{slot, true});
  ::unsetenv("RUNBOX_TEST_MARKER");
  ASSERT_TRUE(box) << box.error().message;

  // The waiting init is runbox-init from its memfd, not this test binary.
  auto waiting = ProcessesWithUid(uid, uid);
  ASSERT_THAT(waiting, ::testing::SizeIs(1));
  std::error_code ec;
  std::string exe =
      std::filesystem::read_symlink("/proc/" + std::to_string(waiting[0]) + "/exe", ec).string();
  EXPECT_THAT(exe, HasSubstr("memfd:runbox-init"));
  EXPECT_THAT(exe, ::testing::Not(HasSubstr("sandbox_integration_test")));
  std::ifstream status("/proc/" + std::to_string(waiting[0]) + "/status");
  std::string text((std::istreambuf_iterator<char>(status)), {});
  EXPECT_THAT(text, HasSubstr("\nVmRSS:")) << "init is not a process of its own";

  // The program looks for the marker (given on its stdin, which the init never sees) in all
  // of pid 1's readable memory and in its environment.
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ASSERT_EQ(::write(fds[1], marker->data(), marker->size()), 64);
  ::close(fds[1]);
  auto r = box->Run(policy, ProbeRequest({"scan", "1"}, fds[0]));
  ::close(fds[0]);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->status, RunStatus::kOk) << r->message << r->stdout_data;
  EXPECT_THAT(r->stdout_data, ::testing::StartsWith("mem="));
  EXPECT_THAT(r->stdout_data, ::testing::Not(HasSubstr("found"))) << r->stdout_data;
  // Not dumpable: the program cannot even open pid 1's memory.
  EXPECT_THAT(r->stdout_data, ::testing::StartsWith("mem=EACCES")) << r->stdout_data;
  EXPECT_EQ(marker->size(), 64u);  // alive until here
}

// A NUL in an argument once split it in the message to the box, and the box executed the rest
// of it: /usr/bin/id instead of the interpreter. The sandbox refuses it, naming the argument,
// before any box is touched; so it does for the environment and file names.
TEST_F(IsolationTest, ANulInTheCommandOrEnvironmentIsRefused) {
  sandbox::RunRequest req;
  req.argv = {"/opt/probe/probe", "argv", std::string("x\0/usr/bin/id", 13)};
  auto r = sandbox::Run(ProbePolicy(), req, TestHost());
  ASSERT_FALSE(r) << r->stdout_data;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr("argument 2 'x\\0/usr/bin/id' holds a NUL byte"));

  req.argv = {std::string("/usr/bin/id\0", 12)};
  r = sandbox::Run(ProbePolicy(), req, TestHost());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("the command '/usr/bin/id\\0' holds a NUL byte"));

  req.argv = {"/opt/probe/probe", "env"};
  auto p = ProbePolicy();
  p.env = sandbox::DefaultEnvironment();
  p.env.push_back(std::string("A=1\0PATH=/tmp", 14));
  r = sandbox::Run(p, req, TestHost());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr("environment entry 8"));

  req.files = {{std::string("main.c\0/../x", 13), "int main;"}};
  r = sandbox::Run(ProbePolicy(), req, TestHost());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("file name"));

  // A prepared box refuses such a run and stays fit for a proper one.
  auto box = sandbox::Box::Prepare(ProbePolicy(), TestHost(), sandbox::BoxOptions{});
  ASSERT_TRUE(box) << box.error().message;
  sandbox::RunRequest bad;
  bad.argv = {"/opt/probe/probe", std::string("id\0x", 4)};
  ASSERT_FALSE(box->Run(ProbePolicy(), bad));
  auto ok = box->Run(ProbePolicy(), ProbeRequest({"exit", "4"}));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->exit_code, 4);
}

// Every byte of every argument arrives as sent: empty ones, spaces, newlines, high bytes, long.
TEST_F(IsolationTest, ArgumentsReachTheProgramByteForByte) {
  std::string big(100000, 'a');
  sandbox::RunRequest req;
  req.argv = {"/opt/probe/probe", "argv", "", "a b", "\n\t", "\xff\x01", "", big};
  auto r = sandbox::Run(ProbePolicy(), req, TestHost());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->status, RunStatus::kOk) << r->message;
  std::string want = "-\n612062\n0a09\nff01\n-\n";
  for (size_t i = 0; i < big.size(); ++i) {
    want += "61";
  }
  EXPECT_EQ(r->stdout_data, want + "\n");
}

TEST_F(IsolationTest, StdinIsPassedAndWorkdirFilesGoInAndOut) {
  std::string in = ProbeDir() + "-in", out = ProbeDir() + "-out";
  std::filesystem::create_directories(in + "/sub");
  std::filesystem::create_directories(out);
  std::ofstream(in + "/sub/data.txt") << "hello";
  auto p = ProbePolicy();
  p.copy_in = in;
  p.copy_out = out;
  sandbox::RunRequest req;
  req.argv = {"/bin/sh", "-c", "cat sub/data.txt; cat > result.txt; ln -s /etc/passwd link"};
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "from stdin", 10), 10);
  ::close(fds[1]);
  req.stdin_fd = fds[0];
  auto r = sandbox::Run(p, req, TestHost());
  ::close(fds[0]);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->stdout_data, "hello");
  std::ifstream result(out + "/result.txt");
  std::string text((std::istreambuf_iterator<char>(result)), {});
  EXPECT_EQ(text, "from stdin");
  EXPECT_FALSE(std::filesystem::is_symlink(out + "/link"));  // links never come out
  std::filesystem::remove_all(in);
  std::filesystem::remove_all(out);
}

TEST_F(IsolationTest, ExitCodesAndSignalsAreReported) {
  auto r = RunProbe(ProbePolicy(), {"exit", "3"});
  EXPECT_EQ(r.outcome.status, RunStatus::kRuntimeError);
  EXPECT_EQ(r.outcome.exit_code, 3);
  EXPECT_EQ(r.outcome.ExitStatus(), 3);
  auto s = RunProbe(ProbePolicy(), {"signal", "6"});
  EXPECT_EQ(s.outcome.status, RunStatus::kSignaled);
  EXPECT_EQ(s.outcome.signal, SIGABRT);
  EXPECT_EQ(s.outcome.ExitStatus(), 134);
  sandbox::RunRequest req;
  req.argv = {"no-such-command"};
  auto nf = sandbox::Run(ProbePolicy(), req, TestHost());
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->ExitStatus(), 127);
  EXPECT_THAT(nf->message, HasSubstr("not found"));
}

// A signal sent through signal_fd reaches the program (pid 2 in the box), which may handle it:
// the way a terminal's Ctrl-C reaches a program. The box's init is not hit: the run ends with
// the program's own exit status.
TEST_F(IsolationTest, SignalsSentToTheRunReachTheProgram) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  UniqueFd sig_read(fds[0]), sig_write(fds[1]);
  sandbox::RunRequest req;
  req.argv = {"/bin/sh", "-c", "trap 'echo got INT; exit 3' INT; echo ready; while :; do :; done"};
  req.signal_fd = sig_read.get();
  std::string seen;
  req.on_output = [&](int stream, std::string_view data) {
    bool was_ready = seen.find("ready") != std::string::npos;
    if (stream == 1) {
      seen.append(data);
    }
    if (!was_ready && seen.find("ready") != std::string::npos) {
      unsigned char sig = SIGINT;
      (void)!::write(sig_write.get(), &sig, 1);
    }
  };
  sandbox::Policy p = ProbePolicy();
  p.limits.wall_time = 5s;
  auto r = sandbox::Run(p, req, TestHost());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, RunStatus::kRuntimeError) << r->message;
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(seen, "ready\ngot INT\n");
}

// ---- copy-out: what a hostile box leaves in /box costs the host at most the box's disk -------
class CopyOutTest : public BoxTest {
 protected:
  void SetUp() override {
    BoxTest::SetUp();
    out_ = ProbeDir() + "-copy-out-" + std::to_string(counter_++);
    std::filesystem::remove_all(out_);
    std::filesystem::create_directories(out_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(out_, ec);
  }
  // The probe's run with copy_out = out_ and a workdir of disk bytes.
  sandbox::Outcome Run(std::vector<std::string> args, uint64_t disk = 64ull << 20) {
    auto p = ProbePolicy();
    p.copy_out = out_;
    p.limits.disk_bytes = disk;
    p.limits.wall_time = 20s;
    p.limits.cpu_time = 10s;
    sandbox::RunRequest req = Request(std::move(args));
    auto r = sandbox::Run(p, req, TestHost());
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : sandbox::Outcome{};
  }
  // A probe subcommand, or a command of its own when args starts with a path.
  static sandbox::RunRequest Request(std::vector<std::string> args) {
    sandbox::RunRequest req;
    if (args.empty() || args[0][0] != '/') {
      req.argv = {"/opt/probe/probe"};
    }
    req.argv.insert(req.argv.end(), args.begin(), args.end());
    return req;
  }
  // Names in out_, recursively, and the disk blocks they use (du), counting each inode once.
  struct Usage {
    size_t names = 0;
    uint64_t disk_bytes = 0;
  };
  Usage Du() const {
    Usage u;
    std::set<std::pair<dev_t, ino_t>> seen;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(out_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      ++u.names;
      struct stat st;
      if (::lstat(it->path().c_str(), &st) == 0 && seen.insert({st.st_dev, st.st_ino}).second) {
        u.disk_bytes += static_cast<uint64_t>(st.st_blocks) * 512;
      }
    }
    return u;
  }
  std::string out_;
  static inline int counter_ = 0;
};

// Thousands of nested directories once overflowed the supervisor's stack in the recursive copier
// (a crash of the whole server from one request). Now the depth budget refuses the copy, and
// nothing of it is left in the destination.
TEST_F(CopyOutTest, ADeepDirectoryChainIsRefusedAndLeavesNothing) {
  auto o = Run({"deepdir", "3000"});
  EXPECT_EQ(o.status, RunStatus::kOutputLimit) << o.message;
  EXPECT_THAT(o.message, HasSubstr("nest deeper than 64 levels"));
  EXPECT_THAT(o.message, HasSubstr("copy-out budget"));
  EXPECT_EQ(o.ExitStatus(), 1);  // not a success, though the program exited 0
  EXPECT_EQ(Du().names, 0u) << "the refused copy left files behind";
}

// A copy-out refusal ranks with the output limit, below time and memory: a program ended by
// SIGXCPU that also left too deep a tree was reported as OLE with the copy-out message, hiding
// the CPU limit (verdict.h, rule 9; verdict_test.cc has the rows).
TEST_F(CopyOutTest, ACpuLimitSignalBeatsTheCopyOutRefusal) {
  auto o = Run({"/bin/sh", "-c",
                "/opt/probe/probe deepdir 3000 >/dev/null && exec /opt/probe/probe signal 24"});
  EXPECT_EQ(o.status, RunStatus::kTimeLimit) << o.message;
  EXPECT_EQ(o.signal, SIGXCPU);
  EXPECT_THAT(o.message, HasSubstr("CPU time limit"));
  EXPECT_EQ(Du().names, 0u) << "the refused copy left files behind";
}

// Directories just within the depth budget come out whole.
TEST_F(CopyOutTest, ADirectoryChainWithinTheBudgetComesOut) {
  auto o = Run({"deepdir", "60"});
  ASSERT_EQ(o.status, RunStatus::kOk) << o.message;
  std::string deepest = out_;
  for (int i = 0; i < 60; ++i) {
    deepest += "/d";
  }
  EXPECT_TRUE(std::filesystem::is_directory(deepest));
}

// 16 sparse files of 64 MiB hold 16 bytes of data in the box and were 1 GiB on the host: their
// apparent size is what counts, and it is over the box's disk limit.
TEST_F(CopyOutTest, SparseFilesCountWithTheirFullSize) {
  auto o = Run({"sparse", "16", "64"});
  EXPECT_EQ(o.status, RunStatus::kOutputLimit) << o.message;
  EXPECT_THAT(o.message, HasSubstr("exceed the copy-out budget of 64 MiB"));
  EXPECT_EQ(Du().names, 0u);
}

// A sparse file within the budget keeps its holes on the host.
TEST_F(CopyOutTest, ASparseFileWithinTheBudgetKeepsItsHoles) {
  auto o = Run({"sparse", "1", "32"});
  ASSERT_EQ(o.status, RunStatus::kOk) << o.message;
  struct stat st;
  ASSERT_EQ(::stat((out_ + "/sparse-0").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 32 << 20);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 1u << 20) << "the holes were filled in";
  std::ifstream f(out_ + "/sparse-0", std::ios::binary);
  f.seekg(16 << 20);
  EXPECT_EQ(f.get(), 'x');
}

// One 1 MiB file with 256 names: 1 MiB in the box, and 1 MiB on the host (one inode, 256 links),
// not 256 MiB.
TEST_F(CopyOutTest, HardLinksCostTheHostOneCopy) {
  auto o = Run({"links", "256", "1024"});
  ASSERT_EQ(o.status, RunStatus::kOk) << o.message;
  Usage u = Du();
  EXPECT_EQ(u.names, 256u);
  EXPECT_LE(u.disk_bytes, 2u << 20);
  struct stat a, b;
  ASSERT_EQ(::stat((out_ + "/linked").c_str(), &a), 0);
  ASSERT_EQ(::stat((out_ + "/link-255").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 256u);
  EXPECT_EQ(a.st_size, 1 << 20);
}

// Each directory costs the host a block, whatever its size in the box: 600 empty directories
// are 2.3 MiB on the host, over a 1 MiB box's budget.
TEST_F(CopyOutTest, ManyEmptyDirectoriesCountAgainstTheBytes) {
  auto o = Run({"/bin/sh", "-c", "mkdir $(seq 1 600)"}, 1ull << 20);
  EXPECT_EQ(o.status, RunStatus::kOutputLimit) << o.message;
  EXPECT_THAT(o.message, HasSubstr("copy-out budget of 1 MiB"));
  EXPECT_EQ(Du().names, 0u);
}

// Symlinks never come out and are never followed (a link to a host file, to the host's root
// through /proc, to a directory); FIFOs, sockets and devices are skipped without being opened
// (an open FIFO would hang the copy).
TEST_F(CopyOutTest, LinksFifosAndSocketsStayBehind) {
  std::string secret = ProbeDir() + "-secret";
  std::ofstream(secret) << "host secret";
  auto o = Run({"/bin/sh", "-c",
                "ln -s " + secret + " file-link; ln -s /etc etc-link; ln -s /proc/1/root root; "
                "mkfifo fifo; mkdir sub; ln -s ../../../../../ sub/up; echo data > sub/real"});
  std::filesystem::remove(secret);
  ASSERT_EQ(o.status, RunStatus::kOk) << o.message << o.stderr_data;
  for (const char* name : {"file-link", "etc-link", "root", "fifo", "sub/up"}) {
    struct stat st;
    EXPECT_NE(::lstat((out_ + "/" + name).c_str(), &st), 0) << name << " came out";
  }
  std::ifstream real(out_ + "/sub/real");
  std::string text((std::istreambuf_iterator<char>(real)), {});
  EXPECT_EQ(text, "data\n");
  EXPECT_EQ(Du().names, 2u);  // sub and sub/real
}

// A second copy into one directory replaces what the first left, and no staging directory
// stays behind.
TEST_F(CopyOutTest, ACopyReplacesEntriesOfTheSameNameAndLeavesNoStaging) {
  std::filesystem::create_directories(out_ + "/sub/old");
  std::ofstream(out_ + "/keep") << "kept";
  std::ofstream(out_ + "/sub/old/file") << "old";
  auto o = Run({"/bin/sh", "-c", "mkdir sub; echo new > sub/file"});
  ASSERT_EQ(o.status, RunStatus::kOk) << o.message;
  EXPECT_TRUE(std::filesystem::exists(out_ + "/keep"));
  EXPECT_TRUE(std::filesystem::exists(out_ + "/sub/file"));
  EXPECT_FALSE(std::filesystem::exists(out_ + "/sub/old"));
  for (const auto& e : std::filesystem::directory_iterator(out_)) {
    EXPECT_EQ(e.path().filename().string().rfind(".runbox", 0), std::string::npos) << e.path();
  }
}

// ---- cleanup: nothing survives ------------------------------------------------------------------
class CleanupTest : public BoxTest {};

TEST_F(CleanupTest, DaemonizedGrandchildDoesNotSurvive) {
  auto r = RunProbe(ProbePolicy(), {"daemon", "30000"}, 9);
  ASSERT_EQ(r.outcome.status, RunStatus::kOk) << r.outcome.message;
  EXPECT_LT(r.outcome.wall_time_ms, 5000u);
  uint32_t uid = TestHost().uid_base + 9;
  EXPECT_THAT(ProcessesWithUid(uid, uid), ::testing::IsEmpty());
}

TEST_F(CleanupTest, ManyRunsInARowLeaveNothingBehind) {
  const int runs = std::getenv("CGROUP2_VM") ? 100 : 500;  // the VM is software-emulated
  size_t mounts = MountCount();
  auto p = ProbePolicy();
  for (int i = 0; i < runs; ++i) {
    auto r = RunProbe(p, {"exit", "0"});
    ASSERT_EQ(r.outcome.status, RunStatus::kOk) << "run " << i << ": " << r.outcome.message;
  }
  EXPECT_EQ(MountCount(), mounts);
  EXPECT_THAT(LeftoverCgroups(), ::testing::IsEmpty());
  auto host = TestHost();
  EXPECT_THAT(LeftoverProcesses(host.uid_base, host.uid_base + host.slots), ::testing::IsEmpty());
}

TEST_F(CleanupTest, ConcurrentRunsTakeDistinctSlots) {
  auto host = TestHost();
  auto a = sandbox::Slot::Acquire(host, std::nullopt);
  auto b = sandbox::Slot::Acquire(host, std::nullopt);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->index(), b->index());
  auto busy = sandbox::Slot::Acquire(host, a->index());
  ASSERT_FALSE(busy);
  EXPECT_THAT(busy.error().message, HasSubstr("in use"));

  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto r = RunProbe(ProbePolicy(), {"sleep", "200"});
      ok += r.outcome.status == RunStatus::kOk;
      EXPECT_EQ(r.outcome.status, RunStatus::kOk) << r.outcome.message;
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 4);
}

TEST_F(CleanupTest, StaleLeftoversOfAKilledRunAreReclaimed) {
  // What a SIGKILLed runbox leaves: its slot's cgroup (the box's mounts die with its namespace).
  auto host = TestHost();
  auto cgroups = sandbox::CgroupHost::Detect(host.cgroup_parent);
  ASSERT_TRUE(cgroups);
  {
    auto slot = sandbox::Slot::Acquire(host, 11);
    ASSERT_TRUE(slot) << slot.error().message;
    auto cg = sandbox::Cgroup::Create(*cgroups, "runbox-11");
    ASSERT_TRUE(cg);
    (void)cg->release();  // leaked on purpose, as a killed process would
  }
  ASSERT_THAT(LeftoverCgroups(), ::testing::Not(::testing::IsEmpty()));
  auto r = RunProbe(ProbePolicy(), {"exit", "0"}, 11);
  EXPECT_EQ(r.outcome.status, RunStatus::kOk) << r.outcome.message;
  EXPECT_THAT(LeftoverCgroups(), ::testing::IsEmpty());
}

TEST_F(CleanupTest, AProgramThatIgnoresItsStdinDoesNotHurtRunbox) {
  // 1 MiB of stdin to a program that exits at once: the supervisor's writes meet a closed pipe.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread feeder([&] {
    signal(SIGPIPE, SIG_IGN);
    std::string mb(1 << 20, 'x');
    (void)!::write(fds[1], mb.data(), mb.size());
    ::close(fds[1]);
  });
  sandbox::RunRequest req;
  req.argv = {"/opt/probe/probe", "exit", "0"};
  req.stdin_fd = fds[0];
  auto r = sandbox::Run(ProbePolicy(), req, TestHost());
  ::close(fds[0]);  // what runbox did not forward stays unread: the feeder gets EPIPE
  feeder.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, RunStatus::kOk);
}

// ---- prepared boxes (sandbox::Box): built ahead, run once, nothing left ---------------------

sandbox::RunRequest ProbeRequest(std::vector<std::string> args, int stdin_fd) {
  sandbox::RunRequest req;
  req.argv = {"/opt/probe/probe"};
  req.argv.insert(req.argv.end(), args.begin(), args.end());
  req.stdin_fd = stdin_fd;
  return req;
}

TEST_F(CleanupTest, APreparedBoxRunsItsProgramLaterAndOnlyOnce) {
  const int slot = 12;
  const uint32_t uid = TestHost().uid_base + slot;
  auto policy = ProbePolicy();
  auto box = sandbox::Box::Prepare(policy, TestHost(), sandbox::BoxOptions{slot, true});
  ASSERT_TRUE(box) << box.error().message;
  // Built and waiting: its init runs as the slot's uid and holds the slot.
  EXPECT_THAT(ProcessesWithUid(uid, uid), ::testing::SizeIs(1));
  EXPECT_FALSE(sandbox::Slot::Acquire(TestHost(), slot));
  std::this_thread::sleep_for(100ms);

  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ASSERT_EQ(::write(fds[1], "late program\n", 13), 13);
  ::close(fds[1]);
  auto r = box->Run(policy, ProbeRequest({"stdin"}, fds[0]));
  ::close(fds[0]);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, RunStatus::kOk) << r->message;
  EXPECT_EQ(r->stdout_data, "late program\n");
  EXPECT_LT(r->wall_time_ms, 1000u);  // the 100 ms of waiting are not the program's

  auto again = box->Run(policy, ProbeRequest({"exit", "0"}));
  ASSERT_FALSE(again);
  EXPECT_THAT(again.error().message, HasSubstr("one program"));
  ASSERT_TRUE(box->Close());
  EXPECT_THAT(ProcessesWithUid(uid, uid), ::testing::IsEmpty());
  EXPECT_THAT(LeftoverCgroups(), ::testing::IsEmpty());
  EXPECT_TRUE(sandbox::Slot::Acquire(TestHost(), slot));
}

TEST_F(CleanupTest, APreparedBoxClosedUnusedOrDroppedLeavesNothing) {
  const int slot = 13;
  const uint32_t uid = TestHost().uid_base + slot;
  size_t mounts = MountCount();
  {
    auto box = sandbox::Box::Prepare(ProbePolicy(), TestHost(), sandbox::BoxOptions{slot, true});
    ASSERT_TRUE(box) << box.error().message;
    EXPECT_THAT(ProcessesWithUid(uid, uid), ::testing::SizeIs(1));
    ASSERT_TRUE(box->Close());
    EXPECT_THAT(ProcessesWithUid(uid, uid), ::testing::IsEmpty());
    EXPECT_TRUE(box->Close());  // idempotent
  }
  {
    auto box = sandbox::Box::Prepare(ProbePolicy(), TestHost(), sandbox::BoxOptions{slot, false});
    ASSERT_TRUE(box) << box.error().message;
    EXPECT_THAT(ProcessesWithUid(uid, uid), ::testing::SizeIs(1));
  }  // the destructor closes it
  EXPECT_THAT(ProcessesWithUid(uid, uid), ::testing::IsEmpty());
  EXPECT_THAT(LeftoverCgroups(), ::testing::IsEmpty());
  EXPECT_EQ(MountCount(), mounts);
}

TEST_F(CleanupTest, APreparedBoxRefusesAnotherPolicyAndUnexpectedStdin) {
  auto policy = ProbePolicy();
  auto box = sandbox::Box::Prepare(policy, TestHost(), sandbox::BoxOptions{std::nullopt, false});
  ASSERT_TRUE(box) << box.error().message;
  auto other = policy;
  other.limits.memory_bytes *= 2;
  EXPECT_FALSE(box->Fits(other));
  auto r = box->Run(other, ProbeRequest({"exit", "0"}));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("differs"));
  // Prepared with stdin from /dev/null: a run with stdin would lose it.
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  r = box->Run(policy, ProbeRequest({"stdin"}, fds[0]));
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("/dev/null"));
  // Where files come from and go to is per run: the box fits a policy that differs only there.
  auto with_files = policy;
  with_files.copy_in = ProbeDir();
  EXPECT_TRUE(box->Fits(with_files));
  auto ok = box->Run(with_files, ProbeRequest({"exit", "3"}));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->exit_code, 3);
}

// Field 19 of /proc/<pid>/stat, counted after the ")" that ends the command name.
int NiceOf(const std::string& stat) {
  std::istringstream in(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 19 && in >> field; ++i) {
  }
  return std::stoi(field);
}

TEST_F(CleanupTest, ABoxPreparedAtLowPriorityRunsItsProgramAtNormalPriority) {
  const int slot = 14;
  const uint32_t uid = TestHost().uid_base + slot;
  auto policy = ProbePolicy();
  auto box = sandbox::Box::Prepare(policy, TestHost(), sandbox::BoxOptions{slot, false, 10});
  ASSERT_TRUE(box) << box.error().message;
  auto waiting = ProcessesWithUid(uid, uid);
  ASSERT_THAT(waiting, ::testing::SizeIs(1));
  std::ifstream stat("/proc/" + std::to_string(waiting[0]) + "/stat");
  std::string line((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  EXPECT_EQ(NiceOf(line), 10) << line;
  sandbox::RunRequest req;
  req.argv = {"/bin/sh", "-c", "cat /proc/self/stat"};
  auto r = box->Run(policy, req);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->status, RunStatus::kOk) << r->message << r->stderr_data;
  EXPECT_EQ(NiceOf(r->stdout_data), 0) << r->stdout_data;
  EXPECT_FALSE(sandbox::Box::Prepare(policy, TestHost(), sandbox::BoxOptions{slot + 1, false, 20}));
}

TEST_F(IsolationTest, FilesFromMemoryGoIntoTheWorkdirAsTheBoxUser) {
  sandbox::RunRequest req;
  req.argv = {"/bin/sh", "-c", "cat main.txt lib/util.txt; stat -c '%u %a' main.txt lib"};
  req.files = {{"main.txt", "main\n"}, {"lib/util.txt", "util\n"}};
  auto r = sandbox::Run(ProbePolicy(), req, TestHost());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, RunStatus::kOk) << r->stderr_data;
  EXPECT_EQ(r->stdout_data, "main\nutil\n1000 644\n1000 755\n");
  for (const char* bad : {"../escape", "/etc/passwd", "a//b", "dir/", "./x"}) {
    req.files = {{bad, "x"}};
    auto refused = sandbox::Run(ProbePolicy(), req, TestHost());
    ASSERT_FALSE(refused) << bad;
    EXPECT_THAT(refused.error().message, HasSubstr("not a plain relative path")) << bad;
  }
}

TEST_F(IsolationTest, ABoxHoldsNoneOfItsCallersDescriptors) {
  // A server's sockets must not live on in a box: a prepared box waits indefinitely, and a
  // connection the server closed would stay open while the box held a copy of it.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);  // not CLOEXEC: a box is a fork, and nothing execs before it closes
  auto box = sandbox::Box::Prepare(ProbePolicy(), TestHost(), sandbox::BoxOptions{});
  ASSERT_TRUE(box) << box.error().message;
  ::close(fds[1]);
  ASSERT_EQ(::fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
  char c;
  EXPECT_EQ(::read(fds[0], &c, 1), 0) << "the prepared box still holds the pipe's write end";
  ::close(fds[0]);
}

}  // namespace
}  // namespace runbox::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  runbox::testing::RemoveProbeDir();
  return rc;
}
