#pragma once
// Copying files into a box's workdir before a run and out of it afterwards.
//
// Both directions walk the tree iteratively (an explicit stack of directory descriptors, never
// recursion: a box can make a directory chain thousands of levels deep, which once overflowed
// the server's stack), relative to directory descriptors, never following a symlink
// (openat/fstatat with O_NOFOLLOW/AT_SYMLINK_NOFOLLOW), skipping FIFOs, devices and sockets
// without opening them, keeping holes in sparse files (SEEK_DATA/SEEK_HOLE) and hard links
// (an inode is copied once; its other names become links to the copy).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "sandbox/policy.h"

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

// What a copy out of a box may bring to the host. A hostile box controls everything in its
// workdir, so the copy is bounded by what the box could legitimately hold, never by what it
// claims: sizes are apparent sizes (st_size, a sparse file's holes count in full), and every
// inode counts once however many names it has.
struct CopyOutBudget {
  // Regular files (each rounded up to 4 KiB, as tmpfs and ext4 allocate) plus 4 KiB for each
  // directory (what a host directory takes at least): about the host's disk use.
  uint64_t bytes = 64ull << 20;
  uint64_t entries = 65536;  // names: files, directories and hard links (the workdir's inodes)
  uint32_t depth = 64;       // directory nesting below the workdir

  // bytes = the box's disk limit (its workdir tmpfs could not hold more without holes),
  // entries = the workdir tmpfs's inode count, depth 64: far deeper than any compiler's output
  // (Java packages, Go and Rust build trees) and small enough that the walk holds at most 130
  // descriptors.
  static CopyOutBudget For(const Limits& limits);
};

struct CopyOutReport {
  // Empty when the copy was done. Otherwise which budget the box's files exceed, for the run's
  // message ("the box's files exceed the copy-out budget of 64 MiB ..."); nothing was copied.
  std::string refused;
  uint64_t files = 0, dirs = 0, links = 0;
  uint64_t bytes = 0;  // charged against CopyOutBudget::bytes
};

// Copies what a (finished, hostile) box left in `from_dir` to the host directory `to`: regular
// files and directories (never a symlink: a link to /etc/shadow stays behind; never a FIFO,
// device or socket), without setuid/setgid bits, owned by the caller, and only within one file
// system (a mount beneath the workdir is not the workdir's).
// All or nothing: the tree is built in a private directory inside `to` and moved into place only
// when complete; entries of `to` with the same names are replaced. A budget overrun is not an
// error (the box's doing, reported in CopyOutReport::refused); an error is runbox's own failure
// (the host's disk, a vanished destination). Either way `to` is left as it was.
Result<CopyOutReport> CopyOut(int from_dir, const std::string& to, const CopyOutBudget& budget);

}  // namespace runbox::sandbox
