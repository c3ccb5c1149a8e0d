#pragma once
// The box's init (src/sandbox/init/runbox_init.cc), built as a static executable and embedded
// into the sandbox library, so that every binary that links the sandbox (runbox, its tests)
// starts boxes with it: no path lookup, no install step, nothing the box could swap or write.

#include "base/result.h"

namespace runbox::sandbox {

// A descriptor of a sealed memfd holding the init's image, made once per process and kept for
// its lifetime: read-only (the writable descriptor is closed), sealed against writes, growth,
// shrinking and further seals, close-on-exec. The box's first process executes it with
// execveat(fd, "", ..., AT_EMPTY_PATH). Thread-safe.
Result<int> InitImageFd();

}  // namespace runbox::sandbox
