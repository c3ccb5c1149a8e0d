#pragma once
// Piston v2 request/response mapping, shared by POST /api/v2/execute (piston.cc) and the
// /api/v2/connect WebSocket (interactive.cc).

#include <string>

#include "server/api.h"

namespace runbox::server {

struct PistonJob {
  engine::Job job;
  engine::LanguageInfo language;
};

// Decodes an execute body (or a WebSocket "init" message). On failure `message` is Piston's text
// ("language is required as a string", "<lang>-<ver> runtime is unknown", ...).
bool DecodePistonJob(const json& body, ApiContext& ctx, PistonJob* out, std::string* message);
// One stage {stdout, stderr, output, code, signal, message, status, memory, cpu_time, wall_time}
// from a native Result object.
json EncodePistonStage(const json& native_result);
// {language, version, run, compile?} from a stored job.
json EncodePistonResult(const store::JobRecord& record, bool compiled, const std::string& language,
                        const std::string& version);

}  // namespace runbox::server
