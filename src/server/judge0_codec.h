#pragma once
// Judge0 CE mapping, exposed for unit tests (judge0.cc holds the routes).

#include <optional>
#include <string>
#include <vector>

#include "server/api.h"

namespace runbox::server {

struct Judge0Language {
  int id;                               // Judge0 CE language id
  const char* name;                     // "C++ (GCC)": the family, our version is appended
  const char* source_file;              // Judge0's file name, when the catalog names none
  std::vector<std::string> candidates;  // runbox language ids/aliases, preferred first
};

struct Judge0Status {
  int id;
  const char* description;
};

const std::vector<Judge0Language>& Judge0LanguageTable();
// The installed runbox language serving a Judge0 id, or nullopt.
std::optional<engine::LanguageInfo> ResolveJudge0Language(JobService& jobs, int id,
                                                          const Judge0Language** entry);
// "C++ (g++ 12.2.0)": Judge0's family name with the version this host runs.
std::string Judge0LanguageName(const Judge0Language& l, const engine::LanguageInfo& info);

// Decodes submission params into a Job, and the params Judge0 reports back. On failure
// `errors` is Judge0's 422 body: {"field": ["message", ...]}.
bool DecodeJudge0Submission(const json& params_in, ApiContext& ctx, bool base64, engine::Job* job,
                            json* params_out, json* errors);
Judge0Status Judge0StatusOf(const store::JobRecord& record, const json& result, bool judged);
// Every field of a submission; false when a text field is not UTF-8 and base64 is off.
bool EncodeJudge0Submission(const store::JobRecord& record, ApiContext& ctx, bool base64,
                            json* out);
// "" -> the default fields; "*" -> all; else the listed ones. 400 text for unknown fields.
bool ParseJudge0Fields(const std::string& fields, std::vector<std::string>* out,
                       std::string* error);
json SelectFields(const json& submission, const std::vector<std::string>& fields);

}  // namespace runbox::server
