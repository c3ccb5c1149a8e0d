// Serve() with the real engine. Its own target (runbox::serve) so the server library and its
// unit tests link without the engine and sandbox implementations.

#include "server/serve.h"

#include <cstdio>
#include <cstdlib>

namespace runbox::server {

Status Serve(const ServerConfig& config) {
  BlockShutdownSignals();  // before the engine starts any thread
  engine::EngineConfig ec;
  ec.languages_dir = config.languages_dir;
  ec.cache_dir = config.cache_dir.empty() ? config.data_dir + "/cache" : config.cache_dir;
  ec.slots = config.slots;
  ec.default_limits = config.default_limits;
  ec.max_limits = config.max_limits;
  ec.prepared_boxes = config.prepared_boxes;
  ec.job_output_bytes = config.job_output_bytes;
  // The cgroup parent for boxes, as the CLI's other commands take it (the v2 VM sets it).
  if (const char* parent = std::getenv("RUNBOX_CGROUP_PARENT")) {
    ec.host.cgroup_parent = parent;
  }
  auto engine = engine::Engine::Create(ec);
  if (!engine) {
    return std::move(engine).error().Wrap("engine");
  }
  return ServeWithEngine(config, std::move(*engine));
}

int ServeMain(const ServeFlags& flags) {
  SetUpLogging("info");
  auto config = LoadServerConfig(flags, RunboxEnvironment());
  if (!config) {
    std::fprintf(stderr, "runbox serve: %s\n", config.error().message.c_str());
    return 2;
  }
  SetUpLogging(config->log_level);
  Status s = Serve(*config);
  if (!s) {
    std::fprintf(stderr, "runbox serve: %s\n", s.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace runbox::server
