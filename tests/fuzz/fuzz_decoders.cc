// Fuzzes the JSON request decoders of every API directly (faster per input than through the
// Router, see fuzz_router.cc): the native JobRequest and Limits (codec.h), the stored request
// that Recover() reads back after a restart (job_service.h), Piston's execute body
// (piston_codec.h) and Judge0's submission and field list (judge0_codec.h), plus Base64Decode.
//
// Input: one selector byte, then the body. Besides sanitizer reports, a finding is a Job that
// a decoder accepts but that does not survive the store: EncodeStoredRequest() then
// DecodeStoredRequest() must give the same Job back, or a job accepted before a restart would
// be lost after it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_env.h"
#include "server/judge0_codec.h"
#include "server/piston_codec.h"

namespace {

using runbox::fuzz::Finding;
using runbox::fuzz::FuzzEnv;
using runbox::server::ApiError;
using runbox::server::json;

void CheckStoredRoundTrip(const runbox::engine::Job& job, const char* decoder) {
  FuzzEnv& env = FuzzEnv::Get();
  json stored = runbox::server::EncodeStoredRequest(job);
  std::string text = runbox::server::Dump(stored);
  json parsed;
  ApiError err;
  if (!runbox::server::ParseJsonBody(text, &parsed, &err)) {
    Finding(std::string(decoder) + ": the stored request is not JSON: " + err.message);
  }
  runbox::engine::Job back;
  if (!runbox::server::DecodeStoredRequest(parsed, env.ctx().jobs->limits(), &back, &err)) {
    Finding(std::string(decoder) + ": accepted, but the stored request does not decode: " +
            err.field + ": " + err.message);
  }
  if (runbox::server::Dump(runbox::server::EncodeStoredRequest(back)) != text) {
    Finding(std::string(decoder) + ": the stored request decodes to another job");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  FuzzEnv& env = FuzzEnv::Get();
  const uint8_t selector = data[0];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);

  if (selector % 8 == 7) {
    std::string decoded;
    runbox::server::Base64Decode(body, &decoded);
    if (!runbox::server::Base64Decode(runbox::server::Base64Encode(body), &decoded) ||
        decoded != body) {
      Finding("Base64Decode(Base64Encode(x)) != x");
    }
    std::vector<std::string> fields;
    std::string error;
    runbox::server::ParseJudge0Fields(body, &fields, &error);
    return 0;
  }

  json j;
  ApiError err;
  if (!runbox::server::ParseJsonBody(body, &j, &err)) {
    return 0;
  }
  const runbox::server::LimitsPolicy& policy = env.ctx().jobs->limits();
  runbox::engine::Job job;
  switch (selector % 8) {
    case 0:
    case 1: {
      runbox::server::DecodeOptions options;
      options.allow_tests = selector % 8 == 0;
      if (runbox::server::DecodeJobRequest(j, policy, options, &job, &err)) {
        CheckStoredRoundTrip(job, "DecodeJobRequest");
      }
      break;
    }
    case 2:
      if (runbox::server::DecodeStoredRequest(j, policy, &job, &err)) {
        CheckStoredRoundTrip(job, "DecodeStoredRequest");
      }
      break;
    case 3: {
      runbox::sandbox::Limits limits;
      if (runbox::server::DecodeLimits(j, "limits", policy, &limits, &err)) {
        runbox::server::Dump(runbox::server::EncodeLimits(limits));
      }
      break;
    }
    case 4: {
      runbox::server::PistonJob piston;
      std::string message;
      if (runbox::server::DecodePistonJob(j, env.ctx(), &piston, &message)) {
        CheckStoredRoundTrip(piston.job, "DecodePistonJob");
      }
      break;
    }
    case 5:
    case 6: {
      json params;
      json errors;
      if (runbox::server::DecodeJudge0Submission(j, env.ctx(), selector % 8 == 6, &job, &params,
                                                 &errors)) {
        runbox::server::Dump(params);
        CheckStoredRoundTrip(job, "DecodeJudge0Submission");
      } else {
        runbox::server::Dump(errors);
      }
      break;
    }
  }
  return 0;
}
