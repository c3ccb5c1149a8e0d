#pragma once
// Copying files into a box's workdir before a run and out of it afterwards.

#include <cstdint>
#include <string>

#include "base/result.h"

namespace runbox::sandbox {

// Copies the trusted host directory `from` into `to`, owned by uid/gid. Regular files keep their
// mode bits (no setuid/setgid), directories and symlinks are recreated; other types are skipped.
Status CopyIn(const std::string& from, const std::string& to, uint32_t uid, uint32_t gid);

// Copies what a (finished, hostile) box left in `from` to the host directory `to`: only regular
// files and directories, never following a symlink (a link to /etc/shadow stays behind), without
// setuid/setgid bits, owned by the caller.
Status CopyOut(const std::string& from, const std::string& to);

}  // namespace runbox::sandbox
