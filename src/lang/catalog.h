#pragma once
// Catalog: the validated set of LanguageSpecs loaded from a directory of TOML files, with
// lookup by id, alias and file extension.
//
// Loading checks every file completely (TOML syntax, key names, value types, content) and then
// the catalog as a whole (ids, aliases and extensions unambiguous). Every error names the file
// and the key: "languages/go.toml: unknown key 'compil' (line 7)". All files are checked before
// failing, and the error lists every problem found, one per line.
//
// A Catalog is immutable after loading: it is safe to share between threads for reading.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "lang/language.h"

namespace runbox::lang {

class Catalog {
 public:
  // Builds a catalog from already-parsed specs: validates each (Validate()) and checks that ids,
  // aliases and extensions are unique. Errors are kInvalidArgument, naming each spec's source.
  static Result<Catalog> Create(std::vector<LanguageSpec> specs);

  // Every language, sorted by id.
  const std::vector<LanguageSpec>& languages() const { return specs_; }
  size_t size() const { return specs_.size(); }

  // By id or alias, case-insensitively ("C++", "cpp", "py"). nullptr when unknown.
  const LanguageSpec* Find(std::string_view id_or_alias) const;
  // By extension, with or without the dot, case-insensitively ("cpp", ".CPP"). nullptr when
  // no language claims it.
  const LanguageSpec* FindByExtension(std::string_view extension) const;
  // By a file name's extension ("src/Main.java" -> java). nullptr when it has none or no
  // language claims it.
  const LanguageSpec* FindByFileName(std::string_view file_name) const;

 private:
  std::vector<LanguageSpec> specs_;
  std::map<std::string, size_t, std::less<>> by_name_;       // ids and aliases -> index
  std::map<std::string, size_t, std::less<>> by_extension_;  // extensions -> index
};

// Parses one language file's text. `source` names it in messages ("languages/go.toml") and its
// base name without ".toml" must equal the id. Type errors, unknown keys and TOML syntax errors
// are kInvalidArgument; the spec is also Validate()d.
Result<LanguageSpec> ParseLanguage(std::string_view toml_text, const std::string& source);

// Reads and parses one file (see ParseLanguage). A missing file is kNotFound.
Result<LanguageSpec> LoadLanguageFile(const std::string& path);

// Loads every "*.toml" file of `dir` (other files, such as scripts, are ignored) and builds the
// Catalog. A missing directory is kNotFound; a directory without language files, or any invalid
// file, is kInvalidArgument.
Result<Catalog> LoadCatalog(const std::string& dir);

// The part of the catalog that one run needs: the language `id` names (its file is <id>.toml),
// or, with an empty id, the language whose extensions claim `file_name`. Parsing every file
// takes ~5 ms (toml++), more than anything else `runbox run` does before its box starts, so
// only the candidate files are parsed: the file named by the id, or the files whose
// `extensions` line mentions the extension (a plain text scan), each then checked after a
// full parse. An alias, a miss or an ambiguity falls back to LoadCatalog, with its errors.
// An invalid file of another language does not stop this language from running.
Result<Catalog> LoadCatalogFor(const std::string& dir, std::string_view id,
                               std::string_view file_name);

}  // namespace runbox::lang
