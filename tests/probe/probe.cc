// probe: the helper that integration tests run inside boxes. Each subcommand does one thing a
// hostile or ordinary program might do and prints a one-line, machine-checkable answer.
// Statically linked, so that it runs in a box whatever is bound there.
//
//   probe id                       uid gid and capability sets
//   probe alloc MIB                allocate and touch MIB MiB, then print "ok"
//   probe spin MS [N]              N processes (default 1) each burn MS ms of CPU (0: forever);
//                                  prints "ok" and the CPU ms the kernel charged to them all
//                                  (rusage of self and children, startup included)
//   probe sleep MS                 sleep
//   probe fork N                   start N children that sleep; print how many started
//   probe threads N                start N threads; print how many started
//   probe forkbomb                 fork forever
//   probe output BYTES             write BYTES bytes to stdout
//   probe read PATH / write PATH   open for reading / create and write; print "ok" or errno name
//   probe fill DIR                 write to DIR/fill until it fails; print bytes written and errno
//   probe files N                  open N files; print how many opened
//   probe connect IP PORT          TCP connect; print "ok" or errno name
//   probe kill PID SIG             kill(2); print "ok" or errno name
//   probe procs                    print the pids visible in /proc
//   probe syscall NAME             make a forbidden call; print "ok", or the errno name
//   probe daemon MS                double-fork a child that lives MS ms, then exit 0
//   probe exit CODE | signal SIG   exit with CODE / raise SIG
//   probe recurse                  unbounded recursion (stack overflow)
//   probe stdin                    copy stdin to stdout
//   probe env                      print the environment
//   probe deepdir N                mkdir and enter "d" N times (a chain deeper than PATH_MAX)
//   probe sparse N MIB             N files sparse-I of MIB MiB each, holes but for one byte
//   probe links N KIB              a KIB KiB file "linked" with N names in all (past 30000,
//                                  more names of further empty files)
//   probe argv [ARG...]            print each argument in hex, one a line ("-" for an empty one)
//   probe scan PID                 read a marker from stdin; look for it in /proc/PID/mem (every
//                                  readable mapping) and /proc/PID/environ; print
//                                  "mem=<found|clean|ERRNO> environ=<found|clean|ERRNO>"
//   probe socket FAMILY            socket(2) of FAMILY (unix inet inet6 netlink vsock packet alg
//                                  key bluetooth); print "ok" or errno name

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <string.h>

extern char** environ;

namespace {

int Answer(long rc) {
  if (rc < 0) {
    std::printf("%s\n", strerrorname_np(errno));
    return 1;
  }
  std::printf("ok\n");
  return 0;
}

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void* Sleeper(void*) {
  pause();
  return nullptr;
}

volatile int g_sink;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
int Recurse(int n) {
  volatile char pad[4096];
  pad[0] = static_cast<char>(n);
  g_sink = pad[0];
  return Recurse(n + 1) + pad[0];
}
#pragma GCC diagnostic pop

long ForbiddenCall(const char* name) {
  if (!std::strcmp(name, "mount")) return syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, 0);
  if (!std::strcmp(name, "unshare")) return syscall(SYS_unshare, CLONE_NEWUSER);
  if (!std::strcmp(name, "clone_newuser"))
    return syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (!std::strcmp(name, "ptrace")) return syscall(SYS_ptrace, 16 /*ATTACH*/, 1, 0, 0);
  if (!std::strcmp(name, "bpf")) return syscall(SYS_bpf, 0, 0, 0);
  if (!std::strcmp(name, "perf_event_open"))
    return syscall(SYS_perf_event_open, 0, 0, -1, -1, 0);
  if (!std::strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0, 0, 0, 0, 0);
  if (!std::strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, 0);
  if (!std::strcmp(name, "io_uring_setup")) return syscall(SYS_io_uring_setup, 1, 0);
  if (!std::strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, 0, 0);
  if (!std::strcmp(name, "init_module")) return syscall(SYS_init_module, 0, 0, "");
  if (!std::strcmp(name, "reboot")) return syscall(SYS_reboot, 0, 0, 0, 0);
  if (!std::strcmp(name, "pivot_root")) return syscall(SYS_pivot_root, ".", ".");
  if (!std::strcmp(name, "open_by_handle_at")) return syscall(SYS_open_by_handle_at, -1, 0, 0);
  if (!std::strcmp(name, "settimeofday")) return syscall(SYS_settimeofday, 0, 0);
  if (!std::strcmp(name, "swapon")) return syscall(SYS_swapon, "/x", 0);
  if (!std::strcmp(name, "tiocsti")) return syscall(SYS_ioctl, 0, TIOCSTI, "x");
  if (!std::strcmp(name, "process_vm_readv"))
    return syscall(SYS_process_vm_readv, 1, 0, 0, 0, 0, 0);
  if (!std::strcmp(name, "setns")) return syscall(SYS_setns, 0, 0);
  errno = ENOSYS;
  return -1;
}

long SocketOf(const char* family) {
  struct Family {
    const char* name;
    int domain, type, protocol;
  };
  static const Family kFamilies[] = {
      {"unix", AF_UNIX, SOCK_STREAM, 0},        {"inet", AF_INET, SOCK_STREAM, 0},
      {"inet6", AF_INET6, SOCK_STREAM, 0},      {"netlink", AF_NETLINK, SOCK_RAW, 0},
      {"vsock", AF_VSOCK, SOCK_STREAM, 0},      {"packet", AF_PACKET, SOCK_RAW, 0},
      {"alg", AF_ALG, SOCK_SEQPACKET, 0},       {"key", AF_KEY, SOCK_RAW, 2 /* PF_KEY_V2 */},
      {"bluetooth", AF_BLUETOOTH, SOCK_RAW, 0},
  };
  for (const Family& f : kFamilies) {
    if (!std::strcmp(family, f.name)) {
      return socket(f.domain, f.type, f.protocol);
    }
  }
  errno = EINVAL;
  return -1;
}

bool Contains(const char* hay, size_t n, const char* needle, size_t m) {
  return m > 0 && n >= m && memmem(hay, n, needle, m) != nullptr;
}

// Searches the whole readable address space of pid for the marker, through /proc/PID/mem.
const char* ScanMemory(const char* pid, const char* marker, size_t m) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%s/mem", pid);
  int mem = open(path, O_RDONLY);
  if (mem < 0) return strerrorname_np(errno);
  std::snprintf(path, sizeof path, "/proc/%s/maps", pid);
  FILE* maps = std::fopen(path, "r");
  if (maps == nullptr) return strerrorname_np(errno);
  static char buf[1 << 20];
  char line[512];
  bool found = false;
  while (!found && std::fgets(line, sizeof line, maps)) {
    unsigned long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r') continue;
    // Overlap chunks by the marker's length, so that a marker across a chunk edge is found.
    for (unsigned long at = lo; !found && at < hi;) {
      size_t want = hi - at < sizeof buf ? hi - at : sizeof buf;
      ssize_t n = pread(mem, buf, want, static_cast<off_t>(at));
      if (n <= 0) break;
      found = Contains(buf, static_cast<size_t>(n), marker, m);
      at += static_cast<unsigned long>(n) > m ? static_cast<unsigned long>(n) - m : 1;
    }
  }
  std::fclose(maps);
  close(mem);
  return found ? "found" : "clean";
}

const char* ScanFile(const char* pid, const char* file, const char* marker, size_t m) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%s/%s", pid, file);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return strerrorname_np(errno);
  static char buf[1 << 20];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf && (n = read(fd, buf + len, sizeof buf - len)) > 0) len += n;
  close(fd);
  return Contains(buf, len, marker, m) ? "found" : "clean";
}

// The arguments of a command: its first two as strings ("0" when absent), and all of them.
struct Args {
  int argc;
  char** argv;
  const char* a;
  const char* b;
};

int CmdId(const Args&) {
  unsigned long long eff = 0, bnd = 0;
  FILE* f = std::fopen("/proc/self/status", "r");
  char line[256];
  while (f && std::fgets(line, sizeof line, f)) {
    std::sscanf(line, "CapEff: %llx", &eff);
    std::sscanf(line, "CapBnd: %llx", &bnd);
  }
  std::printf("uid=%d gid=%d capeff=%llx capbnd=%llx nnp=%d\n", getuid(), getgid(), eff, bnd,
              prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  return 0;
}

int CmdAlloc(const Args& args) {
  const char* a = args.a;
  size_t bytes = std::strtoull(a, nullptr, 10) << 20;
  char* p = static_cast<char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (p == MAP_FAILED) return Answer(-1);
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
  std::printf("ok\n");
  return 0;
}

int CmdSpin(const Args& args) {
  const int argc = args.argc;
  const char* a = args.a;
  const char* b = args.b;
  double ms = std::atof(a);
  int n = argc > 3 ? std::atoi(b) : 1;
  for (int i = 1; i < n; ++i) {
    if (fork() == 0) {
      double start = CpuSeconds();
      while ((CpuSeconds() - start) * 1000 < ms) {
      }
      _exit(0);
    }
  }
  double start = CpuSeconds();
  while (ms == 0 || (CpuSeconds() - start) * 1000 < ms) {
  }
  while (wait(nullptr) > 0) {
  }
  rusage self{}, kids{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &kids);
  auto ms_of = [](const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; };
  double total = ms_of(self.ru_utime) + ms_of(self.ru_stime) + ms_of(kids.ru_utime) +
                 ms_of(kids.ru_stime);
  std::printf("ok %.0f\n", total);
  return 0;
}

int CmdSleep(const Args& args) {
  const char* a = args.a;
  usleep(static_cast<useconds_t>(std::atol(a) * 1000));
  std::printf("ok\n");
  return 0;
}

int CmdFork(const Args& args) {
  const char* a = args.a;
  int n = std::atoi(a), started = 0;
  for (int i = 0; i < n; ++i) {
    pid_t p = fork();
    if (p == 0) {
      pause();
      _exit(0);
    }
    if (p > 0) ++started;
  }
  std::printf("%d\n", started);
  return 0;
}

int CmdThreads(const Args& args) {
  const char* a = args.a;
  int n = std::atoi(a), started = 0;
  for (int i = 0; i < n; ++i) {
    pthread_t t;
    if (pthread_create(&t, nullptr, Sleeper, nullptr) == 0) ++started;
  }
  std::printf("%d\n", started);
  return 0;
}

int CmdForkbomb(const Args&) {
  for (;;) fork();
}

int CmdOutput(const Args& args) {
  const char* a = args.a;
  static char buf[65536];
  std::memset(buf, 'x', sizeof buf);
  long long left = std::atoll(a);
  while (left > 0) {
    ssize_t n = write(1, buf, left < 65536 ? static_cast<size_t>(left) : sizeof buf);
    if (n <= 0) return 1;
    left -= n;
  }
  return 0;
}

int CmdRead(const Args& args) {
  const char* a = args.a;
  int fd = open(a, O_RDONLY);
  if (fd >= 0) {
    char c;
    if (read(fd, &c, 1) < 0) return Answer(-1);
  }
  return Answer(fd);
}

int CmdWrite(const Args& args) {
  const char* a = args.a;
  int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0 && write(fd, "x", 1) != 1) return Answer(-1);
  return Answer(fd);
}

int CmdFill(const Args& args) {
  const char* a = args.a;
  char path[4096];
  std::snprintf(path, sizeof path, "%s/fill", a);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return Answer(-1);
  static char buf[1 << 16];
  long long total = 0;
  for (;;) {
    ssize_t n = write(fd, buf, sizeof buf);
    if (n <= 0) break;
    total += n;
  }
  std::printf("%lld %s\n", total, strerrorname_np(errno));
  return 0;
}

int CmdFiles(const Args& args) {
  const char* a = args.a;
  int n = std::atoi(a), opened = 0;
  for (int i = 0; i < n; ++i) {
    if (open("/dev/null", O_RDONLY) >= 0) ++opened;
  }
  std::printf("%d\n", opened);
  return 0;
}

int CmdConnect(const Args& args) {
  const char* a = args.a;
  const char* b = args.b;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return Answer(-1);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(b)));
  inet_pton(AF_INET, a, &addr.sin_addr);
  timeval tv{2, 0};
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return Answer(connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
}

int CmdKill(const Args& args) {
  const char* a = args.a;
  const char* b = args.b;
  return Answer(kill(std::atoi(a), std::atoi(b)));
}

int CmdProcs(const Args&) {
  DIR* d = opendir("/proc");
  if (!d) return Answer(-1);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') std::printf("%s ", e->d_name);
  }
  std::printf("\n");
  return 0;
}

int CmdSyscall(const Args& args) {
  const char* a = args.a;
  return Answer(ForbiddenCall(a));
}

int CmdDeepdir(const Args& args) {
  const char* a = args.a;
  long n = std::atol(a);
  for (long i = 0; i < n; ++i) {
    if (mkdir("d", 0755) != 0 || chdir("d") != 0) return Answer(-1);
  }
  std::printf("ok\n");
  return 0;
}

int CmdSparse(const Args& args) {
  const char* a = args.a;
  const char* b = args.b;
  int n = std::atoi(a);
  off_t size = static_cast<off_t>(std::atoll(b)) << 20;
  for (int i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "sparse-%d", i);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, size) != 0 || pwrite(fd, "x", 1, size / 2) != 1) {
      return Answer(-1);
    }
    close(fd);
  }
  std::printf("ok\n");
  return 0;
}

int CmdLinks(const Args& args) {
  const char* a = args.a;
  const char* b = args.b;
  long n = std::atol(a);
  long kib = std::atol(b);
  int fd = open("linked", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  static char buf[1024];
  std::memset(buf, 'l', sizeof buf);
  for (long i = 0; fd >= 0 && i < kib; ++i) {
    if (write(fd, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) return Answer(-1);
  }
  if (fd < 0) return Answer(-1);
  close(fd);
  // tmpfs takes 65535 names per inode: a new inode (an empty "linked-I") every 30000.
  char base[32] = "linked";
  for (long i = 1; i < n; ++i) {
    if (i % 30000 == 0) {
      std::snprintf(base, sizeof base, "linked-%ld", i);
      int extra = open(base, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (extra < 0) return Answer(-1);
      close(extra);
      continue;
    }
    char name[32];
    std::snprintf(name, sizeof name, "link-%ld", i);
    if (link(base, name) != 0) return Answer(-1);
  }
  std::printf("ok\n");
  return 0;
}

int CmdArgv(const Args& args) {
  const int argc = args.argc;
  char** argv = args.argv;
  for (int i = 2; i < argc; ++i) {
    if (argv[i][0] == '\0') std::printf("-");
    for (const char* c = argv[i]; *c; ++c) std::printf("%02x", static_cast<unsigned char>(*c));
    std::printf("\n");
  }
  return 0;
}

int CmdScan(const Args& args) {
  const char* a = args.a;
  static char marker[4096];
  size_t m = 0;
  ssize_t n;
  while (m < sizeof marker && (n = read(0, marker + m, sizeof marker - m)) > 0) m += n;
  while (m > 0 && (marker[m - 1] == '\n')) --m;
  if (m < 16) {
    std::printf("marker too short\n");
    return 2;
  }
  const char* in_mem = ScanMemory(a, marker, m);
  const char* in_env = ScanFile(a, "environ", marker, m);
  std::printf("mem=%s environ=%s\n", in_mem, in_env);
  return 0;
}

int CmdSocket(const Args& args) {
  const char* a = args.a;
  return Answer(SocketOf(a));
}

int CmdDaemon(const Args& args) {
  const char* a = args.a;
  if (fork() == 0) {
    setsid();
    if (fork() == 0) {
      // Hold nothing of the box's stdio, like a real daemon, and outlive the parent.
      close(0);
      close(1);
      close(2);
      usleep(static_cast<useconds_t>(std::atol(a) * 1000));
      _exit(0);
    }
    _exit(0);
  }
  wait(nullptr);
  std::printf("ok\n");
  return 0;
}

int CmdExit(const Args& args) {
  const char* a = args.a;
  return std::atoi(a);
}

int CmdSignal(const Args& args) {
  const char* a = args.a;
  raise(std::atoi(a));
  return 0;
}

int CmdRecurse(const Args&) {
  return Recurse(0);
}

int CmdStdin(const Args&) {
  char buf[4096];
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0) {
    if (write(1, buf, static_cast<size_t>(n)) != n) return 1;
  }
  return 0;
}

int CmdEnv(const Args&) {
  for (char** e = environ; *e; ++e) std::printf("%s\n", *e);
  return 0;
}

struct Command {
  const char* name;
  int (*run)(const Args&);
};

constexpr Command kCommands[] = {
    {"id", CmdId},
    {"alloc", CmdAlloc},
    {"spin", CmdSpin},
    {"sleep", CmdSleep},
    {"fork", CmdFork},
    {"threads", CmdThreads},
    {"forkbomb", CmdForkbomb},
    {"output", CmdOutput},
    {"read", CmdRead},
    {"write", CmdWrite},
    {"fill", CmdFill},
    {"files", CmdFiles},
    {"connect", CmdConnect},
    {"kill", CmdKill},
    {"procs", CmdProcs},
    {"syscall", CmdSyscall},
    {"deepdir", CmdDeepdir},
    {"sparse", CmdSparse},
    {"links", CmdLinks},
    {"argv", CmdArgv},
    {"scan", CmdScan},
    {"socket", CmdSocket},
    {"daemon", CmdDaemon},
    {"exit", CmdExit},
    {"signal", CmdSignal},
    {"recurse", CmdRecurse},
    {"stdin", CmdStdin},
    {"env", CmdEnv},
};

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IONBF, 0);
  if (argc < 2) {
    std::fprintf(stderr, "usage: probe COMMAND [ARGS]\n");
    return 2;
  }
  const Args args{argc, argv, argc > 2 ? argv[2] : "0", argc > 3 ? argv[3] : "0"};
  for (const Command& c : kCommands) {
    if (!std::strcmp(argv[1], c.name)) {
      return c.run(args);
    }
  }
  std::fprintf(stderr, "probe: unknown command %s\n", argv[1]);
  return 2;
}
