// runbox-init: PID 1 of every box. The box's first process (child.cc) builds and locks the box
// down (mounts, pivot_root, rlimits, capabilities, no_new_privs, seccomp), then executes this
// program from a sealed memfd: from here nothing in the box shares memory with the supervisor
// (a server that holds API keys and other users' sources and results). A prepared box waits in
// this small image, not in a copy of the server.
//
//   runbox-init SYNC READY ERROR STATUS STDIN STDOUT STDERR   (descriptors, InitArg order)
//   environment: the program's own
//
// It reports readiness, reads the program (ProgramHeader) from SYNC, forks it with STDIN,
// STDOUT and STDERR as 0, 1 and 2, reaps orphans, and when the program ends kills everything
// left in the box (kill(-1) from a pid namespace's init reaches every other process in it),
// reaps them, writes the program's wait status to STATUS, and parks until the supervisor ends
// it (the box's mounts stay alive meanwhile, for the copy-out).
//
// Static, no stdio, no locale, no allocation: only syscalls, so that it starts in a fraction of
// a millisecond and has nothing to say to a program but its wait status.

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "sandbox/init_protocol.h"

namespace {

using runbox::sandbox::ChildError;
using runbox::sandbox::ChildStage;
using runbox::sandbox::ProgramHeader;

int g_error_fd = -1;

[[noreturn]] void Fail(ChildStage stage) {
  ChildError e{stage, errno, -1};
  (void)!::write(g_error_fd, &e, sizeof e);
  ::_exit(127);
}

// A descriptor number from argv: decimal digits only, below 2^20.
int ParseFd(const char* s) {
  if (s == nullptr || *s == '\0') {
    return -1;
  }
  int v = 0;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9' || v > (1 << 20)) {
      return -1;
    }
    v = v * 10 + (*s - '0');
  }
  return v;
}

bool ReadFully(int fd, void* buf, size_t len) {
  char* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = ::read(fd, p, len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

struct Program {
  char** argv = nullptr;
  char** exec_paths = nullptr;
  size_t exec_count = 0;
};

// Reads the program into fresh anonymous memory: a pointer array, then each string copied
// with its terminator. Every length is checked against what is left, and a string that holds
// a NUL is refused (the supervisor refuses those before they are sent: this is the last wall).
// EOF before the header: the supervisor closed the box unused; exit quietly.
Program ReceiveProgram(int sync_fd) {
  ProgramHeader h{};
  if (!ReadFully(sync_fd, &h, sizeof h)) {
    ::_exit(127);
  }
  if (h.bytes == 0 || h.bytes > runbox::sandbox::kMaxProgramBytes || h.argc == 0 ||
      h.exec_count == 0 || h.argc > runbox::sandbox::kMaxProgramStrings ||
      h.exec_count > runbox::sandbox::kMaxProgramStrings) {
    errno = EINVAL;
    Fail(ChildStage::kSync);
  }
  const size_t count = static_cast<size_t>(h.argc) + h.exec_count;
  const size_t pointers = (count + 2) * sizeof(char*);
  // Raw message, then the strings with terminators (at most bytes + count bytes).
  const size_t total = pointers + h.bytes + (h.bytes + count);
  void* mem = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    Fail(ChildStage::kSync);
  }
  char** ptrs = static_cast<char**>(mem);
  const unsigned char* raw = static_cast<unsigned char*>(mem) + pointers;
  char* out = static_cast<char*>(mem) + pointers + h.bytes;
  if (!ReadFully(sync_fd, const_cast<unsigned char*>(raw), h.bytes)) {
    errno = EPROTO;
    Fail(ChildStage::kSync);
  }
  size_t pos = 0;
  for (size_t i = 0; i < count; ++i) {
    if (h.bytes - pos < sizeof(uint32_t)) {
      errno = EPROTO;
      Fail(ChildStage::kSync);
    }
    uint32_t len = 0;
    for (size_t k = 0; k < sizeof len; ++k) {
      reinterpret_cast<unsigned char*>(&len)[k] = raw[pos + k];
    }
    pos += sizeof len;
    if (len > h.bytes - pos) {
      errno = EPROTO;
      Fail(ChildStage::kSync);
    }
    ptrs[i + (i >= h.argc ? 1 : 0)] = out;  // argv, nullptr, exec paths, nullptr
    for (uint32_t k = 0; k < len; ++k) {
      if (raw[pos + k] == '\0') {
        errno = EINVAL;
        Fail(ChildStage::kSync);
      }
      *out++ = static_cast<char>(raw[pos + k]);
    }
    *out++ = '\0';
    pos += len;
  }
  if (pos != h.bytes) {
    errno = EPROTO;
    Fail(ChildStage::kSync);
  }
  ptrs[h.argc] = nullptr;
  ptrs[count + 1] = nullptr;
  return Program{ptrs, ptrs + h.argc + 1, h.exec_count};
}

void ResetSignals() {
  struct sigaction sa = {};
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    ::sigaction(sig, &sa, nullptr);  // fails harmlessly for SIGKILL, SIGSTOP and the RT gap
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

[[noreturn]] void ExecProgram(const Program& program, int in, int out, int err, char** envp) {
  ResetSignals();
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) {
    Fail(ChildStage::kStdio);
  }
  // Only stdin, stdout and stderr stay open: the error pipe is CLOEXEC and goes with execve.
  unsigned keep = static_cast<unsigned>(g_error_fd);
  if (keep > 3) {
    ::syscall(SYS_close_range, 3U, keep - 1, 0U);
  }
  ::syscall(SYS_close_range, keep + 1, ~0U, 0U);
  // Of all candidates, report the most telling failure: EACCES beats ENOENT (like execvp).
  int e = ENOENT;
  for (size_t i = 0; i < program.exec_count; ++i) {
    ::execve(program.exec_paths[i], program.argv, envp);
    if (errno != ENOENT && errno != ENOTDIR) {
      e = errno;
    }
  }
  errno = e;
  Fail(ChildStage::kExec);
}

[[noreturn]] void Reap(pid_t program, int status_fd) {
  // Keep only the status pipe: the box's stdio must close when the program's tree is done.
  unsigned keep = static_cast<unsigned>(status_fd);
  if (keep > 0) {
    ::syscall(SYS_close_range, 0U, keep - 1, 0U);
  }
  ::syscall(SYS_close_range, keep + 1, ~0U, 0U);
  for (;;) {
    int status = 0;
    pid_t p = ::wait4(-1, &status, __WALL, nullptr);
    if (p == program) {
      ::kill(-1, SIGKILL);
      while (::wait4(-1, nullptr, __WALL, nullptr) > 0 || errno == EINTR) {
      }
      int32_t st = status;
      (void)!::write(status_fd, &st, sizeof st);
      for (;;) {
        ::pause();
      }
    }
    if (p < 0 && errno != EINTR) {
      ::_exit(126);
    }
  }
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  // Second wall after the exec (which made the process dumpable again, as every exec of a
  // readable file does): no process of the box, same uid or not, may ptrace this one or read
  // its /proc/1/mem, whatever fs.suid_dumpable says.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (argc != runbox::sandbox::kInitArgCount) {
    ::_exit(125);
  }
  int fds[runbox::sandbox::kInitArgCount];
  for (int i = 1; i < argc; ++i) {
    fds[i] = ParseFd(argv[i]);
    if (fds[i] < 0) {
      ::_exit(125);
    }
  }
  g_error_fd = fds[runbox::sandbox::kInitArgError];
  // The program's exec closes the error pipe (EOF for the supervisor: the exec worked); the
  // others go to the program as its 0, 1 and 2 or stay with the init.
  if (::fcntl(g_error_fd, F_SETFD, FD_CLOEXEC) != 0) {
    ::_exit(125);
  }
  const int ready = fds[runbox::sandbox::kInitArgReady];
  if (::write(ready, "r", 1) != 1) {
    Fail(ChildStage::kInit);
  }
  ::close(ready);
  const int sync_fd = fds[runbox::sandbox::kInitArgSync];
  const Program program = ReceiveProgram(sync_fd);
  ::close(sync_fd);
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
  if (pid < 0) {
    Fail(ChildStage::kFork);
  }
  if (pid == 0) {
    ExecProgram(program, fds[runbox::sandbox::kInitArgStdin], fds[runbox::sandbox::kInitArgStdout],
                fds[runbox::sandbox::kInitArgStderr], envp);
  }
  Reap(pid, fds[runbox::sandbox::kInitArgStatus]);
}
