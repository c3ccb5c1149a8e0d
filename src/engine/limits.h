#pragma once
// The limits one step of a job (compile, or each run) gets: one rule, in one place.
//
//   - A field the job's client set is the limit, exactly. Above the operator's maximum it is an
//     error naming the field and the maximum; a language never raises or lowers it (a client that
//     asks a Racket program for 1000 ms of CPU gets 1000 ms).
//   - Every other field is the engine's default raised by the language's adjustments
//     (lang::LimitAdjustments: a JVM needs more memory and threads than the default), clamped to
//     the maximum.

#include <optional>
#include <string>

#include "base/result.h"
#include "engine/job.h"
#include "lang/language.h"
#include "sandbox/policy.h"

namespace runbox::engine {

// The defaults raised by `adjustments`, each field clamped to `max`.
sandbox::Limits AdjustedDefaults(const sandbox::Limits& defaults,
                                 const lang::LimitAdjustments& adjustments,
                                 const sandbox::Limits& max);

// The step's limits by the rule above. `asked` unset: nothing was given. Errors are
// kInvalidArgument and name the field as the API does ("limits.cpu_time_ms: 90 s is above the
// maximum 60 s"), `prefix` being "limits" or "compile_limits"; a given 0 is an error too.
Result<sandbox::Limits> ResolveLimits(const std::optional<sandbox::Limits>& asked,
                                      LimitFields given, const lang::LimitAdjustments& adjustments,
                                      const sandbox::Limits& defaults, const sandbox::Limits& max,
                                      const std::string& prefix);

}  // namespace runbox::engine
