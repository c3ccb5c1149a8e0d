#pragma once
// Copying files into a box's workdir before a run and out of it afterwards.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace runbox::sandbox {

// Copies the trusted host directory `from` into the directory `to_dir` (the box's workdir, opened
// through /proc/<pid>/root), creating entries as host uid/gid: the box's tmpfs belongs to its
// user namespace, where root is not mapped. Regular files keep their mode bits (no
// setuid/setgid), directories and symlinks are recreated; other types are skipped.
// Changes only the calling thread's fsuid/fsgid, and restores them.
Status CopyIn(const std::string& from, int to_dir, uint32_t uid, uint32_t gid);

// Writes each (name, content) into the directory `to_dir` (the box's workdir), as host uid/gid
// like CopyIn: name is a relative path whose directories are created (0755), and the file is new
// (0644). A name that is empty, absolute, or has an empty, "." or ".." component is refused.
Status WriteFilesIn(int to_dir, const std::vector<std::pair<std::string, std::string>>& files,
                    uint32_t uid, uint32_t gid);

// Copies what a (finished, hostile) box left in `from_dir` to the host directory `to`: only
// regular files and directories, never following a symlink (a link to /etc/shadow stays
// behind), without setuid/setgid bits, owned by the caller.
Status CopyOut(int from_dir, const std::string& to);

}  // namespace runbox::sandbox
