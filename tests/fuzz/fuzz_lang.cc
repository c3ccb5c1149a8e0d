// Fuzzes the language catalog's TOML loader (lang/catalog.h): ParseLanguage with its type,
// key and content checks, then a one-language Catalog and its lookups, and ExpandArgv on the
// spec's commands. A catalog file is the operator's, not a client's, but it is still bytes
// from outside the binary: it must be rejected with a message, never crash the loader.
//
// Input: a language file. ParseLanguage wants the file's base name to equal the id, so the
// source name is taken from the first `id = "..."` line (when it is a plain name).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_finding.h"
#include "lang/catalog.h"

namespace {

std::string SourceName(const std::string& text) {
  size_t at = text.find("id = \"");
  std::string id = "fuzz";
  if (at != std::string::npos && (at == 0 || text[at - 1] == '\n')) {
    size_t end = text.find('"', at + 6);
    std::string candidate = text.substr(at + 6, end == std::string::npos ? 0 : end - at - 6);
    if (!candidate.empty() && candidate.size() < 64 &&
        candidate.find_first_of("/\n\\\0", 0, 4) == std::string::npos) {
      id = candidate;
    }
  }
  return "languages/" + id + ".toml";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto spec = runbox::lang::ParseLanguage(text, SourceName(text));
  if (!spec.has_value()) {
    if (spec.error().message.empty()) {
      runbox::fuzz::Finding("ParseLanguage failed without a message");
    }
    return 0;
  }
  std::vector<std::string> options = {"-O2"};
  std::vector<std::string> args = {"a", "{main}"};
  runbox::lang::ExpandArgv(spec->run, spec->main_file, options, args);
  runbox::lang::ExpandArgv(spec->compile, spec->main_file, options, args);
  const std::string id = spec->id;
  const std::string main_file = spec->main_file;
  auto catalog = runbox::lang::Catalog::Create({std::move(spec.value())});
  if (catalog.has_value()) {
    if (catalog->Find(id) == nullptr) {
      runbox::fuzz::Finding("a one-language catalog does not find its own id '" + id + "'");
    }
    catalog->FindByFileName(main_file);
    catalog->FindByExtension(main_file);
  }
  return 0;
}
