// runbox: the command-line front door. Each subcommand lives in its own file.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli/exec_command.h"
#ifdef RUNBOX_HAVE_ENGINE
#include "cli/run_command.h"
#endif
#ifdef RUNBOX_HAVE_SERVE
#include "server/serve.h"
#endif

int main(int argc, char** argv) {
  CLI::App app{"runbox: run untrusted code in hardened sandboxes"};
  app.require_subcommand(1);
  int exit_status = 0;
  runbox::cli::AddExecCommand(app, &exit_status);
  runbox::cli::AddDoctorCommand(app, &exit_status);
#ifdef RUNBOX_HAVE_ENGINE
  runbox::cli::AddRunCommand(app, &exit_status);
  runbox::cli::AddLanguagesCommand(app, &exit_status);
  // `runbox run FILE... -- ARGS`: the program's arguments are cut off before CLI11 sees them.
  if (argc > 1 && std::strcmp(argv[1], "run") == 0) {
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "--") == 0) {
        runbox::cli::SetRunProgramArgs(std::vector<std::string>(argv + i + 1, argv + argc));
        argc = i;
        break;
      }
    }
  }
#endif
#ifdef RUNBOX_HAVE_SERVE
  runbox::server::ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand("serve", "Serve the HTTP API and the web page");
  runbox::server::AddServeFlags(serve, &serve_flags);
  serve->callback([&] { exit_status = runbox::server::ServeMain(serve_flags); });
#endif
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
