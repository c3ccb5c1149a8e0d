#include "lang/language.h"

#include <algorithm>
#include <set>

namespace runbox::lang {
namespace {

Error Invalid(const std::string& message) {
  return MakeError(ErrorCode::kInvalidArgument, message);
}

bool IsNameChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return !first && (c == '+' || c == '.' || c == '_' || c == '-' || c == '#');
}

// Ids and aliases: lowercase, URL- and shell-safe, short. '+' and '#' allow "c++" and "c#".
bool IsValidName(const std::string& s) {
  if (s.empty() || s.size() > 32) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsNameChar(s[i], i == 0)) {
      return false;
    }
  }
  return true;
}

bool IsValidExtension(const std::string& s) {
  if (s.empty() || s.size() > 16) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '_';
  });
}

// Debian policy 5.6.1: lowercase letters, digits, '+', '-', '.'; at least two characters,
// starting with an alphanumeric character.
bool IsValidDebianPackage(const std::string& s) {
  if (s.size() < 2 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'))) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
  });
}

bool IsPlainFileName(const std::string& s) {
  return !s.empty() && s.size() <= 255 && s != "." && s != ".." &&
         s.find('/') == std::string::npos && s.find('\0') == std::string::npos;
}

bool IsAbsoluteCleanPath(const std::string& s) {
  if (s.empty() || s[0] != '/') {
    return false;
  }
  // No "." or ".." component: paths are compared and bound literally.
  size_t start = 1;
  while (start <= s.size()) {
    size_t end = s.find('/', start);
    if (end == std::string::npos) {
      end = s.size();
    }
    std::string part = s.substr(start, end - start);
    if (part == "." || part == "..") {
      return false;
    }
    start = end + 1;
  }
  return true;
}

bool IsEnvName(const std::string& s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Finds the first "{word}" (word of [a-z_]) in `s` that is not a known placeholder.
std::string UnknownPlaceholder(const std::string& s) {
  size_t pos = 0;
  while ((pos = s.find('{', pos)) != std::string::npos) {
    size_t end = pos + 1;
    while (end < s.size() && ((s[end] >= 'a' && s[end] <= 'z') || s[end] == '_')) {
      ++end;
    }
    if (end < s.size() && s[end] == '}' && end > pos + 1) {
      std::string word = s.substr(pos, end - pos + 1);
      if (word != kMainPlaceholder && word != kOptionsPlaceholder && word != kArgsPlaceholder) {
        return word;
      }
    }
    pos = end;
  }
  return "";
}

// Checks one argv: non-empty, its program path, and where each placeholder may appear.
Status CheckArgv(const std::string& key, const std::vector<std::string>& argv,
                 bool allow_relative_program, bool allow_options, bool allow_args) {
  if (argv.empty()) {
    return Invalid(key + ": must be a non-empty array of strings");
  }
  const std::string& program = argv[0];
  bool relative_ok = allow_relative_program && program.size() > 2 && program.rfind("./", 0) == 0 &&
                     IsPlainFileName(program.substr(2));
  if (!relative_ok && !IsAbsoluteCleanPath(program)) {
    return Invalid(key + ": the program '" + program + "' must be an absolute path" +
                   (allow_relative_program ? " or ./name" : "") +
                   " (name Debian's binary, e.g. /usr/bin/python3, not one found on PATH)");
  }
  for (const std::string& word : argv) {
    std::string unknown = UnknownPlaceholder(word);
    if (!unknown.empty()) {
      return Invalid(key + ": unknown placeholder '" + unknown +
                     "' (known: {main}, {options}, {args})");
    }
    for (const char* whole : {kOptionsPlaceholder, kArgsPlaceholder}) {
      if (word != whole && word.find(whole) != std::string::npos) {
        return Invalid(key + ": " + whole + " must be a whole word, not part of '" + word + "'");
      }
    }
    if (word == kOptionsPlaceholder && !allow_options) {
      return Invalid(key +
                     ": {options} is not allowed here (only in compile, or in run when "
                     "there is no compile step)");
    }
    if (word == kArgsPlaceholder && !allow_args) {
      return Invalid(key + ": {args} is allowed only in run");
    }
  }
  for (const char* once : {kOptionsPlaceholder, kArgsPlaceholder}) {
    if (std::count(argv.begin(), argv.end(), std::string(once)) > 1) {
      return Invalid(key + ": " + once + " appears more than once");
    }
  }
  return OkStatus();
}

Status CheckLimits(const std::string& key, const LimitAdjustments& l) {
  using std::chrono::milliseconds;
  constexpr uint64_t kMaxMemory = 64ull << 30;  // a sanity bound against typos ("512G")
  constexpr milliseconds kMaxTime{600'000};
  if (l.memory_bytes && (*l.memory_bytes < (1ull << 20) || *l.memory_bytes > kMaxMemory)) {
    return Invalid(key + ".memory: must be between 1M and 64G");
  }
  if (l.pids && (*l.pids < 1 || *l.pids > 4096)) {
    return Invalid(key + ".pids: must be between 1 and 4096");
  }
  if (l.cpu_time && (l.cpu_time->count() <= 0 || *l.cpu_time > kMaxTime)) {
    return Invalid(key + ".cpu_time: must be more than 0 and at most 600 seconds");
  }
  if (l.wall_time && (l.wall_time->count() <= 0 || *l.wall_time > kMaxTime)) {
    return Invalid(key + ".wall_time: must be more than 0 and at most 600 seconds");
  }
  for (const auto& [name, value] :
       {std::pair{"output", l.output_bytes}, std::pair{"file_size", l.file_size_bytes},
        std::pair{"disk", l.disk_bytes}}) {
    if (value && (*value < 1024 || *value > kMaxMemory)) {
      return Invalid(key + "." + name + ": must be between 1K and 64G");
    }
  }
  if (l.open_files && (*l.open_files < 1 || *l.open_files > 65536)) {
    return Invalid(key + ".open_files: must be between 1 and 65536");
  }
  return OkStatus();
}

Status CheckUnique(const std::string& key, const std::vector<std::string>& values) {
  std::set<std::string> seen;
  for (const std::string& v : values) {
    if (!seen.insert(v).second) {
      return Invalid(key + ": '" + v + "' is listed twice");
    }
  }
  return OkStatus();
}

// The names a client and the catalog use: id, name, aliases, extensions, main file, packages.
Status ValidateNames(const LanguageSpec& l) {
  if (!IsValidName(l.id)) {
    return Invalid("id: '" + l.id +
                   "' must be 1 to 32 characters of a-z, 0-9 (first) and + . _ - # (after)");
  }
  if (l.name.empty() || l.name.size() > 64) {
    return Invalid("name: must be 1 to 64 characters");
  }
  for (const std::string& alias : l.aliases) {
    if (!IsValidName(alias)) {
      return Invalid("aliases: '" + alias +
                     "' must be 1 to 32 characters of a-z, 0-9 and + . _ - #");
    }
    if (alias == l.id) {
      return Invalid("aliases: '" + alias + "' is the id itself");
    }
  }
  RUNBOX_TRY(CheckUnique("aliases", l.aliases));
  for (const std::string& ext : l.extensions) {
    if (!IsValidExtension(ext)) {
      return Invalid("extensions: '" + ext +
                     "' must be lowercase a-z, 0-9, + or _, without the dot, at most 16");
    }
  }
  RUNBOX_TRY(CheckUnique("extensions", l.extensions));
  if (!IsPlainFileName(l.main_file)) {
    return Invalid("main_file: '" + l.main_file + "' must be a plain file name (no '/')");
  }
  if (l.packages.empty()) {
    return Invalid("packages: must list at least one Debian package");
  }
  for (const std::string& p : l.packages) {
    if (!IsValidDebianPackage(p)) {
      return Invalid("packages: '" + p + "' is not a valid Debian package name");
    }
  }
  RUNBOX_TRY(CheckUnique("packages", l.packages));
  return OkStatus();
}

// What its boxes run and are given: argv templates, environment, binds, limit adjustments.
Status ValidateBoxes(const LanguageSpec& l) {
  RUNBOX_TRY(CheckArgv("version_command", l.version_command, false, false, false));
  if (!l.compile.empty()) {
    RUNBOX_TRY(CheckArgv("compile", l.compile, false, true, false));
  }
  RUNBOX_TRY(CheckArgv("run", l.run, true, !l.compiled(), true));
  std::set<std::string> env_names;
  for (const std::string& e : l.env) {
    size_t eq = e.find('=');
    std::string env_name = e.substr(0, eq);
    if (eq == std::string::npos || !IsEnvName(env_name)) {
      return Invalid("env: '" + e + "' must be NAME=VALUE with NAME of A-Z, a-z, 0-9, _");
    }
    if (!env_names.insert(env_name).second) {
      return Invalid("env: " + env_name + " is set twice");
    }
  }
  for (const std::string& b : l.binds) {
    if (!IsAbsoluteCleanPath(b) || b == "/") {
      return Invalid("binds: '" + b + "' must be an absolute path without . or .., not /");
    }
  }
  RUNBOX_TRY(CheckUnique("binds", l.binds));
  if (!l.compiled() && !l.compile_limits.empty()) {
    return Invalid("compile_limits: set, but there is no compile step");
  }
  RUNBOX_TRY(CheckLimits("compile_limits", l.compile_limits));
  RUNBOX_TRY(CheckLimits("run_limits", l.run_limits));
  return OkStatus();
}

// The self-test programs the catalog test runs for every language.
Status ValidateSelfTest(const LanguageSpec& l) {
  if (l.template_code.empty()) {
    return Invalid("template: must not be empty");
  }
  if (l.test.program.empty()) {
    return Invalid("test_program: must not be empty");
  }
  if (l.test.expected_output.empty()) {
    return Invalid("test_expected: must not be empty");
  }
  if (l.compiled() && l.test.compile_error_program.empty()) {
    return Invalid("compile_error_program: required when there is a compile step");
  }
  if (!l.compiled() && !l.test.compile_error_program.empty()) {
    return Invalid("compile_error_program: set, but there is no compile step");
  }
  if (l.test.runtime_error_program.empty()) {
    return Invalid("runtime_error_program: must not be empty");
  }
  return OkStatus();
}

}  // namespace

Status LanguageSpec::Validate() const {
  RUNBOX_TRY(ValidateNames(*this));
  RUNBOX_TRY(ValidateBoxes(*this));
  return ValidateSelfTest(*this);
}

std::vector<std::string> ExpandArgv(const std::vector<std::string>& argv,
                                    const std::string& main_file,
                                    const std::vector<std::string>& options,
                                    const std::vector<std::string>& args) {
  std::vector<std::string> out;
  out.reserve(argv.size() + options.size() + args.size());
  const std::string main_placeholder = kMainPlaceholder;
  for (const std::string& word : argv) {
    if (word == kOptionsPlaceholder) {
      out.insert(out.end(), options.begin(), options.end());
      continue;
    }
    if (word == kArgsPlaceholder) {
      out.insert(out.end(), args.begin(), args.end());
      continue;
    }
    // Replace left to right without rescanning the inserted text, so a main file name that
    // itself contains "{main}" is not expanded again.
    std::string expanded;
    size_t pos = 0;
    size_t hit;
    while ((hit = word.find(main_placeholder, pos)) != std::string::npos) {
      expanded.append(word, pos, hit - pos);
      expanded += main_file;
      pos = hit + main_placeholder.size();
    }
    expanded.append(word, pos, std::string::npos);
    out.push_back(std::move(expanded));
  }
  return out;
}

}  // namespace runbox::lang
