#pragma once
// The syscall filter every box gets, compiled with libseccomp at build time into a BPF program
// that the child installs last, just before execve.
//
// Policy: allow by default (user programs and 60 language runtimes need a wide surface), deny
// what no user program needs. Calls that runtimes probe and recover from fail with EPERM;
// calls that only an attack would make kill the whole process (SIGSYS). The architecture is
// checked first: a 32-bit (int 0x80) or x32 syscall kills the process, so the filter cannot be
// sidestepped through another syscall table.

#include <linux/filter.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace runbox::sandbox {

struct SeccompProgram {
  std::vector<sock_filter> instructions;
  sock_fprog fprog() const {
    return sock_fprog{static_cast<unsigned short>(instructions.size()),
                      const_cast<sock_filter*>(instructions.data())};
  }
};

// Named groups, each with the reason it is denied, for documentation and tests.
struct SyscallRule {
  const char* name;
  bool kill;           // true: SIGSYS kills the process; false: fails with EPERM
  const char* reason;
};
const std::vector<SyscallRule>& DeniedSyscalls();

// The socket families a box may create (socket and socketpair's domain), each with the reason.
// Any other domain fails with EAFNOSUPPORT.
struct SocketFamily {
  int domain;
  const char* name;
  const char* reason;
};
const std::vector<SocketFamily>& AllowedSocketFamilies();

// Builds the default box filter (the rules above plus argument checks: clone with namespace
// flags -> EPERM, clone3 -> ENOSYS so libc falls back to clone, ioctl TIOCSTI/TIOCLINUX -> kill,
// socket/socketpair outside AllowedSocketFamilies -> EAFNOSUPPORT)
// with libseccomp. Runs at build time (runbox_seccomp_gen) and in the tests, not per box: in
// library runbox_seccomp_compiler, which links libseccomp.
Result<SeccompProgram> BuildDefaultFilter();

// The program BuildDefaultFilter produced when runbox was built, compiled into the binary:
// compiling it at run time cost each `runbox exec` ~0.6 ms. A unit test checks that the two
// are the same instruction for instruction.
const SeccompProgram& DefaultFilter();

}  // namespace runbox::sandbox
