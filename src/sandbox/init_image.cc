#include "sandbox/init_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "base/files.h"
#include "base/unique_fd.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: say that the memfd is executable (vm.memfd_noexec)
#endif

namespace runbox::sandbox {
namespace {

constexpr unsigned char kInitImage[] = {
#include "runbox_init.inc"
};

Result<int> MakeInitImageFd() {
  // MFD_EXEC keeps Linux 6.3+ from warning (or, with vm.memfd_noexec=1, from making the memfd
  // non-executable); older kernels reject the flag and get the old default, executable.
  int fd = static_cast<int>(
      ::memfd_create("runbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
  if (fd < 0 && errno == EINVAL) {
    fd = static_cast<int>(::memfd_create("runbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  }
  UniqueFd rw(fd);
  if (!rw.valid()) {
    return ErrnoError("memfd_create for the box's init");
  }
  if (!WriteAll(rw.get(), reinterpret_cast<const char*>(kInitImage), sizeof kInitImage)) {
    return ErrnoError("write the box's init into its memfd");
  }
  if (::fcntl(rw.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) !=
      0) {
    return ErrnoError("seal the box's init");
  }
  // A read-only descriptor of the same file; the writable one goes. execve refuses a file that
  // is open for writing (ETXTBSY), and nothing may ever write it again anyway.
  std::string path = "/proc/self/fd/" + std::to_string(rw.get());
  UniqueFd ro(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ro.valid()) {
    return ErrnoError("reopen the box's init read-only");
  }
  return ro.release();
}

}  // namespace

Result<int> InitImageFd() {
  // Made once: a failure (no memfd, /proc missing) is the host's and stays so.
  static const Result<int> fd = MakeInitImageFd();
  return fd;
}

}  // namespace runbox::sandbox
