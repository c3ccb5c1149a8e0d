#include "lang/catalog.h"

#include "lang/toml.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <functional>
#include <system_error>

#include "base/files.h"
#include "base/units.h"

namespace runbox::lang {
namespace {

namespace fs = std::filesystem;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string LineSuffix(const toml::source_region& where) {
  if (where.begin.line == 0) {
    return "";
  }
  return " (line " + std::to_string(where.begin.line) + ")";
}

// Collects type errors while reading one file's table into a LanguageSpec. Each reader checks
// the node's TOML type and records "<key>: must be ..." on mismatch; the caller prefixes the
// file name.
class SpecReader {
 public:
  const std::vector<std::string>& errors() const { return errors_; }

  void String(const std::string& key, const toml::node& node, std::string* out) {
    if (const auto* s = node.as_string()) {
      *out = s->get();
    } else {
      Fail(key, "must be a string", node);
    }
  }

  void StringArray(const std::string& key, const toml::node& node, std::vector<std::string>* out) {
    const auto* array = node.as_array();
    if (array == nullptr) {
      Fail(key, "must be an array of strings", node);
      return;
    }
    out->clear();
    for (const toml::node& element : *array) {
      if (const auto* s = element.as_string()) {
        out->push_back(s->get());
      } else {
        Fail(key, "must be an array of strings", element);
        return;
      }
    }
  }

  void Limits(const std::string& key, const toml::node& node, LimitAdjustments* out) {
    const auto* table = node.as_table();
    if (table == nullptr) {
      Fail(key,
           "must be a table (memory, pids, cpu_time, wall_time, output, file_size, disk, "
           "open_files)",
           node);
      return;
    }
    for (auto&& [name, value] : *table) {
      std::string full = key + "." + std::string(name.str());
      if (name == "memory") {
        out->memory_bytes = Size(full, value);
      } else if (name == "output") {
        out->output_bytes = Size(full, value);
      } else if (name == "file_size") {
        out->file_size_bytes = Size(full, value);
      } else if (name == "disk") {
        out->disk_bytes = Size(full, value);
      } else if (name == "pids") {
        out->pids = Count(full, value);
      } else if (name == "open_files") {
        out->open_files = Count(full, value);
      } else if (name == "cpu_time") {
        out->cpu_time = Seconds(full, value);
      } else if (name == "wall_time") {
        out->wall_time = Seconds(full, value);
      } else {
        errors_.push_back("unknown key '" + full + "'" + LineSuffix(name.source()) +
                          " (known: memory, pids, cpu_time, wall_time, output, file_size, "
                          "disk, open_files)");
      }
    }
  }

 private:
  void Fail(const std::string& key, const std::string& what, const toml::node& node) {
    errors_.push_back(key + ": " + what + LineSuffix(node.source()));
  }

  // "512M" (binary suffixes) or an integer of bytes.
  std::optional<uint64_t> Size(const std::string& key, const toml::node& node) {
    if (const auto* s = node.as_string()) {
      Result<uint64_t> size = ParseSize(s->get());
      if (!size) {
        Fail(key, size.error().message, node);
        return std::nullopt;
      }
      return *size;
    }
    if (const auto* i = node.as_integer(); i != nullptr && i->get() >= 0) {
      return static_cast<uint64_t>(i->get());
    }
    Fail(key, "must be a size like \"512M\" or a non-negative integer of bytes", node);
    return std::nullopt;
  }

  std::optional<uint32_t> Count(const std::string& key, const toml::node& node) {
    if (const auto* i = node.as_integer();
        i != nullptr && i->get() >= 0 && i->get() <= int64_t{UINT32_MAX}) {
      return static_cast<uint32_t>(i->get());
    }
    Fail(key, "must be a non-negative integer", node);
    return std::nullopt;
  }

  // Seconds as an integer or float (2, 0.5), or a duration string ("1500ms").
  std::optional<std::chrono::milliseconds> Seconds(const std::string& key, const toml::node& node) {
    double seconds = -1;
    if (const auto* i = node.as_integer()) {
      seconds = static_cast<double>(i->get());
    } else if (const auto* f = node.as_floating_point()) {
      seconds = f->get();
    } else if (const auto* s = node.as_string()) {
      Result<std::chrono::milliseconds> d = ParseDuration(s->get());
      if (!d) {
        Fail(key, d.error().message, node);
        return std::nullopt;
      }
      return *d;
    }
    if (!(seconds >= 0) || seconds > 1e6) {
      Fail(key, "must be a non-negative number of seconds", node);
      return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000)));
  }

  std::vector<std::string> errors_;
};

// The file's base name without ".toml": "languages/go.toml" -> "go".
std::string StemOf(const std::string& source) {
  fs::path p(source);
  return p.extension() == ".toml" ? p.stem().string() : p.filename().string();
}

Error FileError(const std::string& source, const std::vector<std::string>& problems) {
  std::string message;
  for (const std::string& p : problems) {
    if (!message.empty()) {
      message += "\n";
    }
    message += source + ": " + p;
  }
  return MakeError(ErrorCode::kInvalidArgument, message);
}

}  // namespace

Result<LanguageSpec> ParseLanguage(std::string_view toml_text, const std::string& source) {
  RUNBOX_ASSIGN_OR_RETURN(toml::table table, ParseToml(toml_text, source));

  LanguageSpec spec;
  spec.source = source;
  SpecReader reader;
  std::vector<std::string> problems;

  // Each known key and how to read it. The order is the schema's order in language.h.
  using Handler = std::function<void(const std::string&, const toml::node&)>;
  const std::vector<std::pair<std::string, Handler>> handlers = {
      {"id", [&](auto& k, auto& n) { reader.String(k, n, &spec.id); }},
      {"name", [&](auto& k, auto& n) { reader.String(k, n, &spec.name); }},
      {"aliases", [&](auto& k, auto& n) { reader.StringArray(k, n, &spec.aliases); }},
      {"extensions", [&](auto& k, auto& n) { reader.StringArray(k, n, &spec.extensions); }},
      {"main_file", [&](auto& k, auto& n) { reader.String(k, n, &spec.main_file); }},
      {"packages", [&](auto& k, auto& n) { reader.StringArray(k, n, &spec.packages); }},
      {"version_command",
       [&](auto& k, auto& n) { reader.StringArray(k, n, &spec.version_command); }},
      {"compile", [&](auto& k, auto& n) { reader.StringArray(k, n, &spec.compile); }},
      {"run", [&](auto& k, auto& n) { reader.StringArray(k, n, &spec.run); }},
      {"env", [&](auto& k, auto& n) { reader.StringArray(k, n, &spec.env); }},
      {"binds", [&](auto& k, auto& n) { reader.StringArray(k, n, &spec.binds); }},
      {"compile_limits", [&](auto& k, auto& n) { reader.Limits(k, n, &spec.compile_limits); }},
      {"run_limits", [&](auto& k, auto& n) { reader.Limits(k, n, &spec.run_limits); }},
      {"template", [&](auto& k, auto& n) { reader.String(k, n, &spec.template_code); }},
      {"test_program", [&](auto& k, auto& n) { reader.String(k, n, &spec.test.program); }},
      {"test_stdin", [&](auto& k, auto& n) { reader.String(k, n, &spec.test.stdin_data); }},
      {"test_expected", [&](auto& k, auto& n) { reader.String(k, n, &spec.test.expected_output); }},
      {"compile_error_program",
       [&](auto& k, auto& n) { reader.String(k, n, &spec.test.compile_error_program); }},
      {"runtime_error_program",
       [&](auto& k, auto& n) { reader.String(k, n, &spec.test.runtime_error_program); }},
  };
  for (auto&& [key, node] : table) {
    std::string name(key.str());
    auto it = std::find_if(handlers.begin(), handlers.end(),
                           [&](const auto& h) { return h.first == name; });
    if (it == handlers.end()) {
      problems.push_back("unknown key '" + name + "'" + LineSuffix(key.source()));
      continue;
    }
    it->second(name, node);
  }
  problems.insert(problems.end(), reader.errors().begin(), reader.errors().end());
  for (const char* required :
       {"id", "name", "main_file", "packages", "version_command", "run", "template", "test_program",
        "test_expected", "runtime_error_program"}) {
    if (!table.contains(required)) {
      problems.push_back("missing required key '" + std::string(required) + "'");
    }
  }
  if (!problems.empty()) {
    return FileError(source, problems);
  }
  if (Status valid = spec.Validate(); !valid) {
    return FileError(source, {valid.error().message});
  }
  if (std::string stem = StemOf(source); spec.id != stem) {
    return FileError(source, {"id: '" + spec.id + "' must equal the file name '" + stem + "'"});
  }
  return spec;
}

Result<LanguageSpec> LoadLanguageFile(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text) {
    return std::move(text).error();
  }
  return ParseLanguage(*text, path);
}

Result<Catalog> LoadCatalog(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return MakeError(ErrorCode::kNotFound, "language catalog " + dir + ": not a directory");
  }
  std::vector<std::string> paths;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".toml" && it->is_regular_file(ec)) {
      paths.push_back((fs::path(dir) / it->path().filename()).string());
    }
  }
  if (ec) {
    return MakeError(ErrorCode::kInternal, "read language catalog " + dir + ": " + ec.message());
  }
  if (paths.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "language catalog " + dir + ": no *.toml language files");
  }
  std::sort(paths.begin(), paths.end());

  std::vector<LanguageSpec> specs;
  std::string errors;
  for (const std::string& path : paths) {
    Result<LanguageSpec> spec = LoadLanguageFile(path);
    if (spec) {
      specs.push_back(std::move(spec).value());
    } else {
      errors += (errors.empty() ? "" : "\n") + spec.error().message;
    }
  }
  if (!errors.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, errors);
  }
  return Catalog::Create(std::move(specs));
}

Result<Catalog> LoadCatalogFor(const std::string& dir, std::string_view id,
                               std::string_view file_name) {
  std::vector<LanguageSpec> found;
  if (!id.empty()) {
    if (id.find('/') == std::string_view::npos && id.find('.') == std::string_view::npos) {
      auto spec = LoadLanguageFile((fs::path(dir) / (Lower(id) + ".toml")).string());
      if (spec && spec->id == Lower(id)) {
        found.push_back(std::move(spec).value());
      }
    }
  } else {
    size_t dot = file_name.rfind('.');
    size_t slash = file_name.rfind('/');
    std::string ext = dot == std::string_view::npos ||
                              (slash != std::string_view::npos && dot < slash)
                          ? ""
                          : Lower(file_name.substr(dot + 1));
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ext.empty() && !ec && it != end;
         it.increment(ec)) {
      if (it->path().extension() != ".toml") {
        continue;
      }
      auto text = ReadFile(it->path().string());
      if (!text) {
        continue;
      }
      size_t key = text->find("\nextensions");
      if (key == std::string::npos) {
        continue;
      }
      std::string line = Lower(text->substr(key + 1, text->find(']', key) - key));
      if (line.find("\"" + ext + "\"") == std::string::npos &&
          line.find("\"." + ext + "\"") == std::string::npos) {
        continue;
      }
      auto spec = ParseLanguage(*text, it->path().string());
      if (!spec) {
        found.clear();  // let LoadCatalog report it
        break;
      }
      found.push_back(std::move(spec).value());
    }
  }
  if (found.size() == 1) {
    auto one = Catalog::Create(std::move(found));
    if (one && (!id.empty() || one->FindByFileName(file_name) != nullptr)) {
      return one;
    }
  }
  return LoadCatalog(dir);
}

Result<Catalog> Catalog::Create(std::vector<LanguageSpec> specs) {
  std::sort(specs.begin(), specs.end(),
            [](const LanguageSpec& a, const LanguageSpec& b) { return a.id < b.id; });
  Catalog catalog;
  std::vector<std::string> problems;
  // Where each name and extension was first claimed, for "also claimed by" messages.
  std::map<std::string, std::string> name_owner;
  std::map<std::string, std::string> ext_owner;
  for (size_t i = 0; i < specs.size(); ++i) {
    const LanguageSpec& spec = specs[i];
    const std::string source = spec.source.empty() ? "language '" + spec.id + "'" : spec.source;
    if (Status valid = spec.Validate(); !valid) {
      problems.push_back(source + ": " + valid.error().message);
      continue;
    }
    auto claim_name = [&](const std::string& name, const char* key) {
      auto [it, inserted] = catalog.by_name_.emplace(name, i);
      if (!inserted) {
        problems.push_back(source + ": " + key + ": '" + name + "' is already the id or an " +
                           "alias of " + name_owner[name]);
      } else {
        name_owner[name] = source;
      }
    };
    claim_name(spec.id, "id");
    for (const std::string& alias : spec.aliases) {
      claim_name(alias, "aliases");
    }
    for (const std::string& ext : spec.extensions) {
      auto [it, inserted] = catalog.by_extension_.emplace(ext, i);
      if (!inserted) {
        problems.push_back(source + ": extensions: '" + ext + "' is already claimed by " +
                           ext_owner[ext]);
      } else {
        ext_owner[ext] = source;
      }
    }
  }
  if (!problems.empty()) {
    std::string message;
    for (const std::string& p : problems) {
      message += (message.empty() ? "" : "\n") + p;
    }
    return MakeError(ErrorCode::kInvalidArgument, message);
  }
  catalog.specs_ = std::move(specs);
  return catalog;
}

const LanguageSpec* Catalog::Find(std::string_view id_or_alias) const {
  auto it = by_name_.find(Lower(id_or_alias));
  return it == by_name_.end() ? nullptr : &specs_[it->second];
}

const LanguageSpec* Catalog::FindByExtension(std::string_view extension) const {
  if (!extension.empty() && extension[0] == '.') {
    extension.remove_prefix(1);
  }
  auto it = by_extension_.find(Lower(extension));
  return it == by_extension_.end() ? nullptr : &specs_[it->second];
}

const LanguageSpec* Catalog::FindByFileName(std::string_view file_name) const {
  size_t slash = file_name.rfind('/');
  if (slash != std::string_view::npos) {
    file_name.remove_prefix(slash + 1);
  }
  size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) {
    return nullptr;
  }
  return FindByExtension(file_name.substr(dot + 1));
}

}  // namespace runbox::lang
