// The compiled filter, evaluated by the kernel itself: a forked process (no namespaces needed,
// no_new_privs makes it unprivileged-safe) installs it and makes the calls.

#include "sandbox/seccomp_filter.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/seccomp.h>

#include <gtest/gtest.h>

namespace runbox::sandbox {
namespace {

// Runs fn in a child under the filter; returns its wait status. fn's return value is the exit code.
template <typename F>
int UnderFilter(F fn) {
  sock_fprog fp = DefaultFilter().fprog();  // the program every box gets
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0) {
      ::_exit(99);
    }
    ::_exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

int ErrnoOf(long rc) { return rc < 0 ? errno : 0; }

TEST(SeccompFilter, CompilesToAProgram) {
  auto prog = BuildDefaultFilter();
  ASSERT_TRUE(prog) << prog.error().message;
  EXPECT_GT(prog->instructions.size(), 20u);
}

// The embedded program is what libseccomp compiles from the rules now: a stale build or a
// generator that dropped an instruction fails here.
TEST(SeccompFilter, EmbeddedProgramIsTheCompiledOne) {
  auto prog = BuildDefaultFilter();
  ASSERT_TRUE(prog) << prog.error().message;
  const auto& embedded = DefaultFilter().instructions;
  ASSERT_EQ(embedded.size(), prog->instructions.size());
  for (size_t i = 0; i < embedded.size(); ++i) {
    const sock_filter& a = embedded[i];
    const sock_filter& b = prog->instructions[i];
    EXPECT_TRUE(a.code == b.code && a.jt == b.jt && a.jf == b.jf && a.k == b.k)
        << "instruction " << i << " differs";
  }
}

TEST(SeccompFilter, OrdinaryCallsStillWork) {
  int st = UnderFilter([] {
    if (::getpid() <= 0) return 1;
    int fd = ::open("/dev/null", O_RDONLY);
    if (fd < 0) return 2;
    ::close(fd);
    pid_t c = ::fork();  // plain clone without namespace flags
    if (c == 0) ::_exit(7);
    int s = 0;
    ::waitpid(c, &s, 0);
    return WIFEXITED(s) && WEXITSTATUS(s) == 7 ? 0 : 3;
  });
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

struct EpermCase {
  const char* name;
  long (*call)();
};

class SeccompEperm : public ::testing::TestWithParam<EpermCase> {};

TEST_P(SeccompEperm, FailsWithEperm) {
  auto call = GetParam().call;
  int st = UnderFilter([call] { return ErrnoOf(call()) == EPERM ? 0 : 1; });
  ASSERT_TRUE(WIFEXITED(st)) << GetParam().name << " status " << st;
  EXPECT_EQ(WEXITSTATUS(st), 0) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Calls, SeccompEperm,
    ::testing::Values(
        EpermCase{"mount", [] { return ::syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, 0); }},
        EpermCase{"umount2", [] { return ::syscall(SYS_umount2, "/tmp", 0); }},
        EpermCase{"unshare_user", [] { return ::syscall(SYS_unshare, CLONE_NEWUSER); }},
        EpermCase{"unshare_net", [] { return ::syscall(SYS_unshare, CLONE_NEWNET); }},
        EpermCase{"setns", [] { return ::syscall(SYS_setns, 0, 0); }},
        EpermCase{"clone_newuser",
                  [] { return ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0); }},
        EpermCase{"clone_newns",
                  [] { return ::syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0); }},
        EpermCase{"ptrace", [] { return ::syscall(SYS_ptrace, 0 /*TRACEME*/, 0, 0, 0); }},
        EpermCase{"process_vm_readv",
                  [] { return ::syscall(SYS_process_vm_readv, 1, 0, 0, 0, 0, 0); }},
        EpermCase{"bpf", [] { return ::syscall(SYS_bpf, 0, 0, 0); }},
        EpermCase{"perf_event_open",
                  [] { return ::syscall(SYS_perf_event_open, 0, 0, -1, -1, 0); }},
        EpermCase{"keyctl", [] { return ::syscall(SYS_keyctl, 0, 0, 0, 0, 0); }},
        EpermCase{"add_key", [] { return ::syscall(SYS_add_key, "user", "x", "y", 1, 0); }},
        EpermCase{"request_key", [] { return ::syscall(SYS_request_key, "user", "x", 0, 0); }},
        EpermCase{"userfaultfd", [] { return ::syscall(SYS_userfaultfd, 0); }},
        EpermCase{"io_uring_setup", [] { return ::syscall(SYS_io_uring_setup, 1, 0); }}),
    [](const auto& info) { return std::string(info.param.name); });

// What the box's first process and runbox-init do under the filter: clear CLOEXEC, make
// themselves non-dumpable, and execute a file by descriptor (execveat with AT_EMPTY_PATH, the
// way the init is started from its memfd).
TEST(SeccompFilter, TheInitsCallsAreAllowed) {
  int st = UnderFilter([] {
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return 1;
    int fd = ::open("/bin/true", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 2;
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return 3;
    pid_t c = ::fork();
    if (c == 0) {
      char* argv[] = {const_cast<char*>("true"), nullptr};
      char* envp[] = {nullptr};
      ::syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
      ::_exit(100 + errno);
    }
    int s = 0;
    ::waitpid(c, &s, 0);
    return WIFEXITED(s) && WEXITSTATUS(s) == 0 ? 0 : 4;
  });
  ASSERT_TRUE(WIFEXITED(st)) << st;
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

TEST(SeccompFilter, Clone3GetsEnosysSoLibcFallsBack) {
  int st = UnderFilter([] { return ErrnoOf(::syscall(SYS_clone3, nullptr, 0)) == ENOSYS ? 0 : 1; });
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

struct KillCase {
  const char* name;
  long (*call)();
};
class SeccompKill : public ::testing::TestWithParam<KillCase> {};

TEST_P(SeccompKill, KillsTheProcessWithSigsys) {
  auto call = GetParam().call;
  int st = UnderFilter([call] {
    call();
    return 0;
  });
  ASSERT_TRUE(WIFSIGNALED(st)) << GetParam().name << " status " << st;
  EXPECT_EQ(WTERMSIG(st), SIGSYS) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Calls, SeccompKill,
    ::testing::Values(
        KillCase{"kexec_load", [] { return ::syscall(SYS_kexec_load, 0, 0, 0, 0); }},
        KillCase{"init_module", [] { return ::syscall(SYS_init_module, 0, 0, ""); }},
        KillCase{"finit_module", [] { return ::syscall(SYS_finit_module, -1, "", 0); }},
        KillCase{"delete_module", [] { return ::syscall(SYS_delete_module, "x", 0); }},
        KillCase{"reboot", [] { return ::syscall(SYS_reboot, 0, 0, 0, 0); }},
        KillCase{"swapon", [] { return ::syscall(SYS_swapon, "/x", 0); }},
        KillCase{"pivot_root", [] { return ::syscall(SYS_pivot_root, ".", "."); }},
        KillCase{"settimeofday", [] { return ::syscall(SYS_settimeofday, 0, 0); }},
        KillCase{"clock_settime", [] { return ::syscall(SYS_clock_settime, 0, 0); }},
        KillCase{"adjtimex", [] { return ::syscall(SYS_adjtimex, 0); }},
        KillCase{"open_by_handle_at", [] { return ::syscall(SYS_open_by_handle_at, -1, 0, 0); }},
        KillCase{"acct", [] { return ::syscall(SYS_acct, 0); }},
        KillCase{"tiocsti", [] { return ::syscall(SYS_ioctl, 0, TIOCSTI, "x"); }},
        // The kernel reads ioctl's command as 32 bits: high garbage must not slip past the rule.
        KillCase{"tiocsti_high_bits",
                 [] { return ::syscall(SYS_ioctl, 0, 0xdead00000000UL | TIOCSTI, "x"); }}),
    [](const auto& info) { return std::string(info.param.name); });

// socket() and socketpair() only for AllowedSocketFamilies; every other family fails the way a
// kernel without it fails (EAFNOSUPPORT), whatever the type and protocol.
struct SocketCase {
  const char* name;
  long (*call)();
  int want_errno;  // 0: the call succeeds
};
class SeccompSocket : public ::testing::TestWithParam<SocketCase> {};

TEST_P(SeccompSocket, OnlyAllowedFamilies) {
  auto c = GetParam();
  int st = UnderFilter([c] {
    long rc = c.call();
    int err = ErrnoOf(rc);
    if (rc >= 0) {
      ::close(static_cast<int>(rc));
    }
    return err == c.want_errno ? 0 : (err == 0 ? 100 : err);
  });
  ASSERT_TRUE(WIFEXITED(st)) << c.name << " status " << st;
  EXPECT_EQ(WEXITSTATUS(st), 0) << c.name << ": errno " << WEXITSTATUS(st) << " (100: it worked)";
}

long Socket(long domain, long type, long protocol) {
  return ::syscall(SYS_socket, domain, type, protocol);
}

INSTANTIATE_TEST_SUITE_P(
    Families, SeccompSocket,
    ::testing::Values(
        SocketCase{"unix", [] { return Socket(AF_UNIX, SOCK_STREAM, 0); }, 0},
        SocketCase{"inet", [] { return Socket(AF_INET, SOCK_DGRAM, 0); }, 0},
        SocketCase{"inet6", [] { return Socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0); }, 0},
        SocketCase{"netlink_route",
                   [] { return Socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 /* ROUTE */); }, 0},
        SocketCase{"socketpair_unix",
                   [] {
                     int sv[2];
                     long rc = ::syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
                     if (rc == 0) {
                       ::close(sv[1]);
                       return static_cast<long>(sv[0]);
                     }
                     return rc;
                   },
                   0},
        SocketCase{"vsock", [] { return Socket(AF_VSOCK, SOCK_STREAM, 0); }, EAFNOSUPPORT},
        SocketCase{"vsock_dgram", [] { return Socket(AF_VSOCK, SOCK_DGRAM, 0); }, EAFNOSUPPORT},
        SocketCase{"packet", [] { return Socket(AF_PACKET, SOCK_RAW, 0); }, EAFNOSUPPORT},
        SocketCase{"alg", [] { return Socket(AF_ALG, SOCK_SEQPACKET, 0); }, EAFNOSUPPORT},
        SocketCase{"key", [] { return Socket(AF_KEY, SOCK_RAW, 2); }, EAFNOSUPPORT},
        SocketCase{"bluetooth", [] { return Socket(AF_BLUETOOTH, SOCK_RAW, 0); }, EAFNOSUPPORT},
        SocketCase{"unspec", [] { return Socket(AF_UNSPEC, SOCK_STREAM, 0); }, EAFNOSUPPORT},
        SocketCase{"tipc", [] { return Socket(AF_TIPC, SOCK_RDM, 0); }, EAFNOSUPPORT},
        SocketCase{"xdp", [] { return Socket(AF_XDP, SOCK_RAW, 0); }, EAFNOSUPPORT},
        SocketCase{"between_allowed", [] { return Socket(3 /* AF_AX25 */, SOCK_SEQPACKET, 0); },
                   EAFNOSUPPORT},
        SocketCase{"way_above", [] { return Socket(0x7fffffff, SOCK_STREAM, 0); }, EAFNOSUPPORT},
        // The kernel reads the domain as an int: AF_VSOCK behind high garbage bits, and even
        // AF_UNIX behind them, is refused rather than truncated into a family.
        SocketCase{"vsock_high_bits",
                   [] { return Socket(0x100000000L | AF_VSOCK, SOCK_STREAM, 0); }, EAFNOSUPPORT},
        SocketCase{"unix_high_bits",
                   [] { return Socket(0x100000000L | AF_UNIX, SOCK_STREAM, 0); }, EAFNOSUPPORT},
        SocketCase{"socketpair_vsock",
                   [] {
                     int sv[2];
                     return ::syscall(SYS_socketpair, AF_VSOCK, SOCK_STREAM, 0, sv);
                   },
                   EAFNOSUPPORT},
        // AF_INET with SOCK_PACKET is an AF_PACKET socket under its old name.
        SocketCase{"inet_sock_packet", [] { return Socket(AF_INET, SOCK_PACKET, 0x300); },
                   EAFNOSUPPORT},
        SocketCase{"netlink_audit", [] { return Socket(AF_NETLINK, SOCK_RAW, 9); },
                   EPROTONOSUPPORT},
        SocketCase{"netlink_uevent", [] { return Socket(AF_NETLINK, SOCK_DGRAM, 15); },
                   EPROTONOSUPPORT},
        SocketCase{"netlink_generic", [] { return Socket(AF_NETLINK, SOCK_RAW, 16); },
                   EPROTONOSUPPORT}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SeccompFilter, EverySocketFamilyHasAReason) {
  for (const auto& f : AllowedSocketFamilies()) {
    EXPECT_GT(std::string(f.reason).size(), 5u) << f.name;
  }
}

TEST(SeccompFilter, EveryRuleHasAReason) {
  for (const auto& r : DeniedSyscalls()) {
    EXPECT_GT(std::string(r.reason).size(), 5u) << r.name;
  }
}

}  // namespace
}  // namespace runbox::sandbox
