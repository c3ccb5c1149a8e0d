#pragma once
#include <CLI/CLI.hpp>

namespace runbox::cli {
// Registers `runbox exec` on app; the returned callback status is the process exit status.
void AddExecCommand(CLI::App& app, int* exit_status);
void AddDoctorCommand(CLI::App& app, int* exit_status);
}  // namespace runbox::cli
