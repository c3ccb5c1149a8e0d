// runbox: the command-line front door. Each subcommand lives in its own file.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "cli/exec_command.h"

int main(int argc, char** argv) {
  CLI::App app{"runbox: run untrusted code in hardened sandboxes"};
  app.require_subcommand(1);
  int exit_status = 0;
  runbox::cli::AddExecCommand(app, &exit_status);
  runbox::cli::AddDoctorCommand(app, &exit_status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    // Usage errors are runbox's own failure to start the command: 125, like docker run.
    return rc == 0 ? 0 : 125;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "runbox: %s\n", e.what());
    return 125;
  }
  return exit_status;
}
