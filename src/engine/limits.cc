// The limit rule of limits.h, over a table of sandbox::Limits' fields so that each field's name,
// flag and adjustment are written once.

#include "engine/limits.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <type_traits>

#include "base/units.h"

namespace runbox::engine {
namespace {

using std::chrono::milliseconds;

// Calls f(api_name, flag, member of Limits, member of LimitAdjustments or nullptr) for every
// field. stack_bytes has no adjustment: no catalog language needs more than the default.
template <typename F>
void ForEachLimitField(F&& f) {
  using L = sandbox::Limits;
  using A = lang::LimitAdjustments;
  f("cpu_time_ms", LimitField::kCpuTime, &L::cpu_time, &A::cpu_time);
  f("wall_time_ms", LimitField::kWallTime, &L::wall_time, &A::wall_time);
  f("memory_kib", LimitField::kMemory, &L::memory_bytes, &A::memory_bytes);
  f("pids", LimitField::kPids, &L::pids, &A::pids);
  f("output_bytes", LimitField::kOutput, &L::output_bytes, &A::output_bytes);
  f("file_size_bytes", LimitField::kFileSize, &L::file_size_bytes, &A::file_size_bytes);
  f("disk_bytes", LimitField::kDisk, &L::disk_bytes, &A::disk_bytes);
  f("open_files", LimitField::kOpenFiles, &L::open_files, &A::open_files);
  f("stack_bytes", LimitField::kStack, &L::stack_bytes, nullptr);
}

// How a value is shown in messages, and compared with 0.
std::string Shown(milliseconds d) { return FormatDuration(d); }
std::string Shown(uint64_t bytes) { return FormatSize(bytes); }
std::string Shown(uint32_t count) { return std::to_string(count); }
bool IsZero(milliseconds d) { return d.count() <= 0; }
bool IsZero(uint64_t n) { return n == 0; }

std::optional<LimitField> LimitFieldNamed(std::string_view api_name) {
  std::optional<LimitField> found;
  ForEachLimitField([&](const char* name, LimitField flag, auto, auto) {
    if (api_name == name) {
      found = flag;
    }
  });
  return found;
}

}  // namespace

bool LimitFields::Add(std::string_view api_name) {
  std::optional<LimitField> flag = LimitFieldNamed(api_name);
  if (flag) {
    Add(*flag);
  }
  return flag.has_value();
}

bool LimitFields::Has(std::string_view api_name) const {
  std::optional<LimitField> flag = LimitFieldNamed(api_name);
  return flag && Has(*flag);
}

sandbox::Limits AdjustedDefaults(const sandbox::Limits& defaults,
                                 const lang::LimitAdjustments& adjustments,
                                 const sandbox::Limits& max) {
  sandbox::Limits l = defaults;
  ForEachLimitField([&](const char*, LimitField, auto field, auto adjustment) {
    if constexpr (!std::is_same_v<decltype(adjustment), std::nullptr_t>) {
      const auto& want = adjustments.*adjustment;
      if (want && *want > l.*field) {
        l.*field = *want;
      }
    }
    l.*field = std::min(l.*field, max.*field);
  });
  return l;
}

Result<sandbox::Limits> ResolveLimits(const std::optional<sandbox::Limits>& asked,
                                      LimitFields given, const lang::LimitAdjustments& adjustments,
                                      const sandbox::Limits& defaults, const sandbox::Limits& max,
                                      const std::string& prefix) {
  sandbox::Limits l = AdjustedDefaults(defaults, adjustments, max);
  if (!asked) {
    return l;
  }
  std::string error;
  ForEachLimitField([&](const char* name, LimitField flag, auto field, auto) {
    if (!error.empty() || !given.Has(flag)) {
      return;
    }
    const auto& value = (*asked).*field;
    if (IsZero(value)) {
      error = prefix + "." + name + ": must be at least 1";
    } else if (value > max.*field) {
      error = prefix + "." + name + ": " + Shown(value) + " is above the maximum " +
              Shown(max.*field);
    } else {
      l.*field = value;
    }
  });
  if (!error.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, error);
  }
  return l;
}

}  // namespace runbox::engine
