#pragma once
// Parsing and printing of the sizes and durations that flags, config files and APIs take.

#include <chrono>
#include <cstdint>
#include <string>

#include "base/result.h"

namespace runbox {

// "256M", "1G", "512K", "1048576", "64MiB", "1.5G": binary units (K = 1024). Rejects negative,
// empty, overflowing and unknown-suffix input with a message naming the text.
Result<uint64_t> ParseSize(const std::string& text);
// "2", "0.5", "1.5s", "250ms": seconds with fractions, or an explicit ms/s/m suffix.
Result<std::chrono::milliseconds> ParseDuration(const std::string& text);
// 268435456 -> "256 MiB"; 1536 -> "1.5 KiB".
std::string FormatSize(uint64_t bytes);
// 2000ms -> "2 s"; 1500ms -> "1.5 s"; 250ms -> "250 ms".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace runbox
