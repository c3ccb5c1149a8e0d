#pragma once
// What the supervisor, the box's first process (child.cc) and the box's init (runbox-init) tell
// each other through their pipes: fixed-size records and a length-prefixed program message.
// Included by the static runbox-init as well, so: plain C++ with fixed-width types only.

#include <cstdint>

namespace runbox::sandbox {

// Where the child or the init failed; sent to the supervisor as fixed-size data.
enum class ChildStage : int32_t {
  kSync = 1, kIdentity, kMountPrivate, kMount, kPivotRoot, kRootReadOnly, kChdir, kHostname,
  kLoopback, kCgroupNamespace, kRlimit, kCapabilities, kNoNewPrivs, kSeccomp, kFork, kStdio,
  kExec, kCgroupJoin, kInit,
};

struct ChildError {
  ChildStage stage;
  int32_t sys_errno;
  int32_t index;  // mount op index, or -1
};

// The second go-ahead on the sync pipe, read by the init: this header, then `bytes` bytes
// holding argc + exec_count strings, each a uint32_t length (host byte order) followed by that
// many bytes, with no terminator and no NUL inside: argv, then the execve candidates (argv[0]
// resolved against the box's PATH, tried in order). Lengths, not terminators, so that no byte
// of one string can end it early and shift the next (a NUL in an argument once became the
// path that was executed).
struct ProgramHeader {
  uint32_t bytes;
  uint32_t argc;
  uint32_t exec_count;
};
// Bounds the init checks before it maps memory for the strings (Linux's own ARG_MAX-like cap
// on one execve is far lower for argv; this only guards the init against a garbled header).
constexpr uint32_t kMaxProgramBytes = 32u << 20;
constexpr uint32_t kMaxProgramStrings = 1u << 20;

// The init's argv: its name, then these descriptors in decimal, in this order.
enum InitArg : int {
  kInitArgSync = 1,  // read end: the ProgramHeader and strings
  kInitArgReady,     // write end: one byte once the init runs (the box is ready)
  kInitArgError,     // write end: a ChildError if the program cannot be started
  kInitArgStatus,    // write end: the program's wait status (int32_t)
  kInitArgStdin,
  kInitArgStdout,
  kInitArgStderr,
  kInitArgCount,     // argc of the init
};

}  // namespace runbox::sandbox
