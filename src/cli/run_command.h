#pragma once
#include <CLI/CLI.hpp>

namespace runbox::cli {
// `runbox run FILE... [--lang ID] [--tests DIR] [--json] [--quiet] [--stdin FILE] [-- ARGS]`
void AddRunCommand(CLI::App& app, int* exit_status);
// CLI11 2.1 gives every word after "--" to the FILE... positional; main() therefore cuts
// `runbox run ... -- ARGS` at the first "--" before parsing and hands ARGS over here.
void SetRunProgramArgs(std::vector<std::string> args);
// `runbox languages [--check] [--json]`
void AddLanguagesCommand(CLI::App& app, int* exit_status);
}  // namespace runbox::cli
