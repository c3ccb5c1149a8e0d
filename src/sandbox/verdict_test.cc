#include "sandbox/verdict.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <string>

namespace runbox::sandbox {
namespace {

using ::testing::HasSubstr;

// Wait statuses as the init reports them (waitpid's encoding).
int32_t Exited(int code) {
  return code << 8;
}
int32_t Signaled(int sig) {
  return sig;
}

Limits TestLimits() {
  Limits l;
  l.cpu_time = milliseconds(2000);
  l.wall_time = milliseconds(5000);
  l.memory_bytes = 64ull << 20;
  l.output_bytes = 1ull << 20;
  l.file_size_bytes = 2ull << 20;
  return l;
}
constexpr uint64_t kUnderCpu = 100'000'000ull;  // 100 ms
constexpr uint64_t kAtCpu = 2'000'000'000ull;   // the 2 s limit

struct Row {
  const char* name;
  VerdictInputs in;
  RunStatus status;
  int exit_code;
  int signal;
  const char* message;
};

VerdictInputs In(std::optional<int32_t> status, KillReason kill = KillReason::kNone,
                 uint64_t oom_kills = 0, uint64_t cpu_ns = kUnderCpu, std::string refused = "") {
  VerdictInputs in;
  in.limits = TestLimits();
  in.program_status = status;
  in.kill_reason = kill;
  in.oom_kills = oom_kills;
  in.cpu_ns = cpu_ns;
  in.copy_refused = std::move(refused);
  in.command = "prog";
  return in;
}

const char kRefused[] = "the box's files exceed the copy-out budget of 64 MiB";

// gtest names the row in a failure, rather than dumping its bytes.
void PrintTo(const Row& row, std::ostream* os) {
  *os << row.name;
}

class VerdictTest : public ::testing::TestWithParam<Row> {};

TEST_P(VerdictTest, DecidesStatusAndMessage) {
  const Row& row = GetParam();
  auto v = DecideVerdict(row.in);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(StatusCode(v->status), std::string(StatusCode(row.status)));
  EXPECT_EQ(v->exit_code, row.exit_code);
  EXPECT_EQ(v->signal, row.signal);
  EXPECT_EQ(v->message, row.message);
}

// Each status, then what wins when several apply. "killed" rows have no program status: runbox's
// SIGKILL to the init took the whole box, so the program reported nothing.
INSTANTIATE_TEST_SUITE_P(
    Rows, VerdictTest,
    ::testing::Values(
        Row{"Ok", In(Exited(0)), RunStatus::kOk, 0, 0, "exited with code 0"},
        Row{"NonZeroExit", In(Exited(3)), RunStatus::kRuntimeError, 3, 0, "exited with code 3"},
        Row{"Segfault", In(Signaled(SIGSEGV)), RunStatus::kSignaled, -1, SIGSEGV,
            "killed by signal 11 (SIGSEGV)"},
        Row{"Seccomp", In(Signaled(SIGSYS)), RunStatus::kSignaled, -1, SIGSYS,
            "killed by signal 31 (SIGSYS): a system call forbidden in the box"},
        // A program that SIGKILLs itself is SG; one that runbox killed is the limit's status.
        Row{"SigkillFromItself", In(Signaled(SIGKILL)), RunStatus::kSignaled, -1, SIGKILL,
            "killed by signal 9 (SIGKILL)"},
        Row{"WallTimeKill", In(std::nullopt, KillReason::kWallTime), RunStatus::kTimeLimit, -1,
            SIGKILL, "wall time limit of 5 s exceeded"},
        Row{"CpuTimeKill", In(std::nullopt, KillReason::kCpuTime), RunStatus::kTimeLimit, -1,
            SIGKILL, "CPU time limit of 2 s exceeded"},
        Row{"Sigxcpu", In(Signaled(SIGXCPU)), RunStatus::kTimeLimit, -1, SIGXCPU,
            "CPU time limit of 2 s exceeded"},
        // Exited before the 10 ms CPU poll caught it: the cgroup's total still says TLE.
        Row{"CpuOverButExited", In(Exited(0), KillReason::kNone, 0, kAtCpu), RunStatus::kTimeLimit,
            0, 0, "CPU time limit of 2 s exceeded"},
        Row{"OomKilledInit", In(std::nullopt, KillReason::kNone, 1), RunStatus::kMemoryLimit, -1,
            SIGKILL, "memory limit of 64 MiB exceeded"},
        Row{"OomKilledChildProgramExited0", In(Exited(0), KillReason::kNone, 1),
            RunStatus::kMemoryLimit, 0, 0, "memory limit of 64 MiB exceeded"},
        Row{"OomKilledProgram", In(Signaled(SIGKILL), KillReason::kNone, 2),
            RunStatus::kMemoryLimit, -1, SIGKILL, "memory limit of 64 MiB exceeded"},
        Row{"OutputKill", In(std::nullopt, KillReason::kOutput), RunStatus::kOutputLimit, -1,
            SIGKILL, "output limit of 1 MiB exceeded"},
        Row{"Sigxfsz", In(Signaled(SIGXFSZ)), RunStatus::kOutputLimit, -1, SIGXFSZ,
            "file size limit of 2 MiB exceeded"},
        Row{"CopyOutRefused", In(Exited(0), KillReason::kNone, 0, kUnderCpu, kRefused),
            RunStatus::kOutputLimit, 0, 0, kRefused},
        Row{"Cancelled", In(std::nullopt, KillReason::kCancelled), RunStatus::kSystemError, -1,
            SIGKILL, "run cancelled"},
        // Precedence: runbox's own kill reason first, cancel before every limit.
        Row{"CancelledWhileOomAndOverCpu", In(std::nullopt, KillReason::kCancelled, 1, kAtCpu),
            RunStatus::kSystemError, -1, SIGKILL, "run cancelled"},
        Row{"WallKillBeatsOom", In(std::nullopt, KillReason::kWallTime, 1), RunStatus::kTimeLimit,
            -1, SIGKILL, "wall time limit of 5 s exceeded"},
        Row{"WallKillBeatsCpuTotal", In(std::nullopt, KillReason::kWallTime, 0, kAtCpu),
            RunStatus::kTimeLimit, -1, SIGKILL, "wall time limit of 5 s exceeded"},
        Row{"CpuBeatsOom", In(std::nullopt, KillReason::kCpuTime, 1), RunStatus::kTimeLimit, -1,
            SIGKILL, "CPU time limit of 2 s exceeded"},
        Row{"CpuTotalBeatsOutputKill", In(std::nullopt, KillReason::kOutput, 0, kAtCpu),
            RunStatus::kTimeLimit, -1, SIGKILL, "CPU time limit of 2 s exceeded"},
        Row{"OomBeatsOutputKill", In(std::nullopt, KillReason::kOutput, 1), RunStatus::kMemoryLimit,
            -1, SIGKILL, "memory limit of 64 MiB exceeded"},
        // Output overflow, then the program's own end: OLE whatever it was.
        Row{"OutputKillThenNonZeroExit", In(Exited(1), KillReason::kOutput),
            RunStatus::kOutputLimit, 1, 0, "output limit of 1 MiB exceeded"},
        Row{"OutputKillThenSegfault", In(Signaled(SIGSEGV), KillReason::kOutput),
            RunStatus::kOutputLimit, -1, SIGSEGV, "output limit of 1 MiB exceeded"},
        Row{"OutputKillThenSigxfsz", In(Signaled(SIGXFSZ), KillReason::kOutput),
            RunStatus::kOutputLimit, -1, SIGXFSZ, "output limit of 1 MiB exceeded"},
        Row{"OomBeatsSigxfsz", In(Signaled(SIGXFSZ), KillReason::kNone, 1), RunStatus::kMemoryLimit,
            -1, SIGXFSZ, "memory limit of 64 MiB exceeded"},
        // The copy-out refusal ranks with the output limit: below time and memory (it once
        // overrode them, and a program killed by SIGXCPU was reported as OLE), above SIGXFSZ,
        // signals and exit codes.
        Row{"SigxcpuBeatsCopyOut", In(Signaled(SIGXCPU), KillReason::kNone, 0, kUnderCpu, kRefused),
            RunStatus::kTimeLimit, -1, SIGXCPU, "CPU time limit of 2 s exceeded"},
        Row{"CpuTotalBeatsCopyOut", In(Exited(0), KillReason::kNone, 0, kAtCpu, kRefused),
            RunStatus::kTimeLimit, 0, 0, "CPU time limit of 2 s exceeded"},
        Row{"OomBeatsCopyOut", In(Exited(0), KillReason::kNone, 1, kUnderCpu, kRefused),
            RunStatus::kMemoryLimit, 0, 0, "memory limit of 64 MiB exceeded"},
        Row{"CopyOutBeatsSigxfsz", In(Signaled(SIGXFSZ), KillReason::kNone, 0, kUnderCpu, kRefused),
            RunStatus::kOutputLimit, -1, SIGXFSZ, kRefused},
        Row{"CopyOutBeatsSignal", In(Signaled(SIGSEGV), KillReason::kNone, 0, kUnderCpu, kRefused),
            RunStatus::kOutputLimit, -1, SIGSEGV, kRefused},
        Row{"CopyOutBeatsNonZeroExit", In(Exited(2), KillReason::kNone, 0, kUnderCpu, kRefused),
            RunStatus::kOutputLimit, 2, 0, kRefused},
        Row{"Abort", In(Signaled(SIGABRT)), RunStatus::kSignaled, -1, SIGABRT,
            "killed by signal 6 (SIGABRT)"}),
    [](const ::testing::TestParamInfo<Row>& info) { return std::string(info.param.name); });

TEST(VerdictTest, ExecveFailureIsLikeAShell) {
  VerdictInputs in = In(Exited(127));
  in.child_error = ChildError{ChildStage::kExec, ENOENT, -1};
  auto nf = DecideVerdict(in);
  ASSERT_TRUE(nf) << nf.error().message;
  EXPECT_EQ(nf->status, RunStatus::kRuntimeError);
  EXPECT_EQ(nf->exit_code, 127);
  EXPECT_EQ(nf->signal, 0);
  EXPECT_EQ(nf->message, "command not found in the box: prog");

  in.child_error = ChildError{ChildStage::kExec, EACCES, -1};
  in.copy_refused = kRefused;  // the exec failure is the verdict; the refusal is not
  auto denied = DecideVerdict(in);
  ASSERT_TRUE(denied) << denied.error().message;
  EXPECT_EQ(denied->status, RunStatus::kRuntimeError);
  EXPECT_EQ(denied->exit_code, 126);
  EXPECT_EQ(denied->message, "cannot run prog: Permission denied");
}

TEST(VerdictTest, SetupFailureIsAnError) {
  VerdictInputs in = In(std::nullopt, KillReason::kWallTime);
  in.child_error = ChildError{ChildStage::kPivotRoot, EINVAL, -1};
  auto v = DecideVerdict(in);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().sys_errno, EINVAL);
  EXPECT_THAT(v.error().message, HasSubstr("box setup failed while pivot_root"));
  EXPECT_THAT(BoxSetupError(ChildError{ChildStage::kMount, EPERM, 0}, " (bind /usr)").message,
              HasSubstr("box setup failed while building the file system (bind /usr)"));
}

TEST(VerdictTest, AnInitThatDiedUnkilledIsAnError) {
  VerdictInputs in = In(std::nullopt);
  in.init_status = 137;
  auto v = DecideVerdict(in);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kInternal);
  EXPECT_THAT(v.error().message,
              HasSubstr("the box's init ended without reporting the program's status (init "
                        "exit 137)"));
}

}  // namespace
}  // namespace runbox::sandbox
