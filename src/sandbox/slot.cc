#include "sandbox/slot.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <fcntl.h>

#include "base/files.h"

namespace runbox::sandbox {
Result<Slot> Slot::Acquire(const HostConfig& host, std::optional<int> want) {
  if (host.slots <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "the number of slots must be at least 1");
  }
  if (want && (*want < 0 || *want >= host.slots)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--slot " + std::to_string(*want) + " is out of range 0.." +
                         std::to_string(host.slots - 1));
  }
  // The state dir must be traversable by the slots' uids (the box's staging root lives below);
  // the lock files are root's alone.
  std::string locks = host.state_dir + "/locks";
  if (Status s = MakeDirs(host.state_dir, 0755); !s) {
    return std::move(s).error().Wrap("create the state directory (run runbox as root, or set "
                                     "--state-dir to a writable directory)");
  }
  if (Status s = MakeDirs(locks, 0700); !s) {
    return std::move(s).error().Wrap("create the state directory (run runbox as root, or set "
                                     "--state-dir to a writable directory)");
  }
  int first = want ? *want : 0;
  int last = want ? *want : host.slots - 1;
  for (int i = first; i <= last; ++i) {
    std::string path = locks + "/slot-" + std::to_string(i) + ".lock";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.valid()) {
      return ErrnoError("open slot lock " + path);
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        continue;
      }
      return ErrnoError("lock " + path);
    }
    Slot slot;
    slot.index_ = i;
    slot.host_uid_ = host.uid_base + static_cast<uint32_t>(i);
    slot.dir_ = host.state_dir + "/slot-" + std::to_string(i);
    slot.lock_ = std::move(fd);
    RUNBOX_TRY(MakeDirs(slot.root(), 0755));
    return slot;
  }
  if (want) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "slot " + std::to_string(*want) + " is in use by another run");
  }
  return MakeError(ErrorCode::kResourceExhausted,
                   "all " + std::to_string(host.slots) + " box slots are in use; try again");
}

}  // namespace runbox::sandbox
