#pragma once
// LanguageSpec: one entry of the language catalog, loaded from languages/<id>.toml.
//
// The catalog is data, not code: adding a language is adding one TOML file (and installing its
// Debian packages), never writing C++. This header is the schema's reference: every TOML key is
// a field below, with its unit and default. Unknown keys are errors, so a typo ("compil") fails
// the load instead of silently dropping the compile step.
//
// A complete file, for orientation:
//
//   id = "go"
//   name = "Go"
//   aliases = ["golang"]
//   extensions = ["go"]
//   main_file = "main.go"
//   packages = ["golang-go"]
//   version_command = ["/usr/bin/go", "version"]
//   compile = ["/usr/bin/go", "build", "-o", "main", "{options}", "{main}"]
//   run = ["./main", "{args}"]
//   env = ["GOCACHE=/tmp/gocache"]
//   compile_limits = { memory = "512M", pids = 128 }
//   template = '''...'''
//   test_program = '''...'''
//   test_stdin = "runbox\n10 20 12\n"
//   test_expected = "Hello, runbox!\nSum: 42\n"
//   compile_error_program = '''...'''
//   runtime_error_program = '''...'''
//
// The limit tables may also be written as [compile_limits] sections at the end of the file (a
// TOML section runs until the next header, so keys after it would belong to it).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace runbox::lang {

// argv placeholders. Only these exist; any other "{word}" in an argv is a load error, so that
// a misspelt placeholder is not passed to a compiler literally.
//   {main}     the main file's name ("main.cpp"); replaced inside a word too (".read {main}").
//   {options}  must be a whole word: replaced by zero or more words, the job's compiler
//              options. Allowed in `compile`, and in `run` only for languages without `compile`.
//   {args}     must be a whole word: replaced by zero or more words, the program's arguments.
//              Allowed in `run` only. A language whose run command has no {args} ignores them.
inline constexpr char kMainPlaceholder[] = "{main}";
inline constexpr char kOptionsPlaceholder[] = "{options}";
inline constexpr char kArgsPlaceholder[] = "{args}";

// Per-step limit adjustments ([compile_limits] and [run_limits]). Each set field RAISES the
// engine's default limit for that step of this language to at least the given value: it never
// lowers a default, and the engine still clamps it to the server's configured maximum. An unset
// field leaves the default (see sandbox::Limits: 256 MiB, 64 pids, 5 s CPU, 10 s wall, ...).
struct LimitAdjustments {
  // TOML `memory`: a size string with binary suffix ("512M", "1G") or an integer of bytes.
  // Memory of the step's whole process tree (cgroup, swap counted). Unset: the default.
  std::optional<uint64_t> memory_bytes;
  // TOML `pids`: integer, 1..4096. Processes plus threads of the tree. JVMs, go build and
  // Erlang need 20-30 on two cores and more on bigger hosts. Unset: the default.
  std::optional<uint32_t> pids;
  // TOML `cpu_time`: seconds, integer or float (or a duration string: "1500ms"), up to 600.
  // CPU time of the whole tree. Unset: the default.
  std::optional<std::chrono::milliseconds> cpu_time;
  // TOML `wall_time`: seconds as for cpu_time, up to 600. Unset: the default.
  std::optional<std::chrono::milliseconds> wall_time;
  // TOML `output`: size. stdout+stderr bytes captured before the step ends as OLE.
  std::optional<uint64_t> output_bytes;
  // TOML `file_size`: size. Largest file the step may write (RLIMIT_FSIZE).
  std::optional<uint64_t> file_size_bytes;
  // TOML `disk`: size. Size of each of the writable tmpfs mounts /box and /tmp.
  std::optional<uint64_t> disk_bytes;
  // TOML `open_files`: integer, 1..65536. RLIMIT_NOFILE.
  std::optional<uint32_t> open_files;

  bool empty() const {
    return !memory_bytes && !pids && !cpu_time && !wall_time && !output_bytes && !file_size_bytes &&
           !disk_bytes && !open_files;
  }
};

// The language's self-test: run by `runbox languages --check` style tools and by the test
// suite, so that every catalog entry is proven to work on this host, not just parsed.
struct LanguageTest {
  // TOML `test_program`: required. A program that reads stdin and prints an answer computed
  // from it (by convention a greeting of the first line and the sum of the second line's
  // integers), so that stdin, computation and stdout are all exercised.
  std::string program;
  // TOML `test_stdin`: optional, default "". Fed to test_program.
  std::string stdin_data;
  // TOML `test_expected`: required. test_program's exact stdout for test_stdin.
  std::string expected_output;
  // TOML `compile_error_program`: required when `compile` is set, forbidden otherwise. A
  // program whose compile step fails (exit status non-zero).
  std::string compile_error_program;
  // TOML `runtime_error_program`: required. A program that (compiles and) exits with a
  // non-zero status when run, the way an uncaught error in this language does.
  std::string runtime_error_program;
};

struct LanguageSpec {
  // TOML `id`: required. Lowercase [a-z0-9][a-z0-9+._-]*, at most 32 characters, equal to the
  // file name without ".toml". The stable key in the API, the cache and the store.
  std::string id;
  // TOML `name`: required. Display name, with the implementation where it matters:
  // "C# (Mono)".
  std::string name;
  // TOML `aliases`: optional, default []. Other names a job may use ("py", "python"). Same
  // character set as id; unique across the catalog's ids and aliases.
  std::vector<std::string> aliases;
  // TOML `extensions`: optional, default []. File extensions without the dot ("cpp", "cc"),
  // lowercase; each maps to one language across the catalog (lookup by file name).
  std::vector<std::string> extensions;
  // TOML `main_file`: required. The entry file's name inside /box ("Main.java"): a plain file
  // name, no '/', not "." or "..". A job's single unnamed file is stored under this name.
  std::string main_file;
  // TOML `packages`: required, non-empty. The Debian packages that provide the toolchain;
  // scripts/install-languages.sh installs them with --no-install-recommends.
  std::vector<std::string> packages;
  // TOML `version_command`: required argv. Its first non-empty output line (stdout, else
  // stderr) is the version shown to users. argv[0] is an absolute path.
  std::vector<std::string> version_command;
  // TOML `compile`: optional argv, default [] (an interpreted language). Runs in /box in its
  // own box; only the files it leaves in /box reach the run step. argv[0] is an absolute path.
  // Placeholders: {main}, {options}.
  std::vector<std::string> compile;
  // TOML `run`: required argv. argv[0] is an absolute path or "./name" (a compiled binary in
  // /box). Placeholders: {main}, {args}, and {options} when there is no compile step.
  std::vector<std::string> run;
  // TOML `env`: optional, default []. "NAME=VALUE" entries added to the box's environment for
  // both steps (after the defaults, so they may override e.g. HOME). Names are unique.
  std::vector<std::string> env;
  // TOML `binds`: optional, default []. Extra absolute host paths this toolchain reads,
  // beyond sandbox::DefaultSystemBinds(); bound read-only at the same path, skipped when
  // missing. Never a writable bind.
  std::vector<std::string> binds;
  // TOML table `compile_limits`: optional, default {}. Only with `compile`.
  LimitAdjustments compile_limits;
  // TOML table `run_limits`: optional, default {}.
  LimitAdjustments run_limits;
  // TOML `template`: required. The hello-world shown in the web editor for a new program; it
  // reads stdin and prints.
  std::string template_code;
  // TOML `test_program`, `test_stdin`, `test_expected`, `compile_error_program`,
  // `runtime_error_program`: see LanguageTest.
  LanguageTest test;

  // Not a TOML key: the file this spec was loaded from, for messages ("languages/go.toml").
  std::string source;

  bool compiled() const { return !compile.empty(); }

  // Checks every field's content (the loader has already checked types and unknown keys).
  // Errors are kInvalidArgument and name the key: "main_file: must be a plain file name".
  Status Validate() const;
};

// Replaces the placeholders of `argv`: {main} by `main_file` (also inside a word), and the
// whole words {options} and {args} by the given words (zero or more). Other words are copied
// unchanged; no shell is involved, so no quoting is needed.
std::vector<std::string> ExpandArgv(const std::vector<std::string>& argv,
                                    const std::string& main_file,
                                    const std::vector<std::string>& options,
                                    const std::vector<std::string>& args);

}  // namespace runbox::lang
