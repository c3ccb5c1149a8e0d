#pragma once
// Small file helpers that report errors as Result, with the path in the message.

#include <string>
#include <vector>

#include "base/result.h"

namespace runbox {

// Reads a whole (small) file: cgroup and proc files, config files.
Result<std::string> ReadFile(const std::string& path);
// Writes data in one write(2), as cgroup control files require. No O_CREAT unless create is set.
Status WriteFile(const std::string& path, const std::string& data, bool create = false);
// Writes all of data to fd: retries after EINTR and short writes, and waits while a
// non-blocking fd is full. False on any other error, with errno set by the failed write.
bool WriteAll(int fd, const char* data, size_t len);
// mkdir -p with the given mode; existing directories are fine.
Status MakeDirs(const std::string& path, unsigned mode = 0755);
// Trims ASCII whitespace at both ends.
std::string Trim(const std::string& s);
// Splits at each sep ("a,,b" -> "a", "", "b"; a trailing sep adds nothing).
std::vector<std::string> Split(const std::string& s, char sep);

}  // namespace runbox
