#include "server/job_service.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <memory>

namespace runbox::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

std::string CompareName(engine::CompareMode m) {
  switch (m) {
    case engine::CompareMode::kExact: return "exact";
    case engine::CompareMode::kTrailingWhitespace: return "trailing_whitespace";
    case engine::CompareMode::kTokens: return "tokens";
    case engine::CompareMode::kFloat: return "float";
  }
  return "trailing_whitespace";
}

}  // namespace

json EncodeStoredRequest(const engine::Job& job) {
  json files = json::array();
  for (const auto& f : job.files) {
    if (IsValidUtf8(f.content)) {
      files.push_back({{"name", f.name}, {"content", f.content}});
    } else {
      files.push_back({{"name", f.name}, {"content", Base64Encode(f.content)},
                       {"encoding", "base64"}});
    }
  }
  bool b64 = false;
  for (const auto& t : job.tests) {
    b64 = b64 || !IsValidUtf8(t.stdin_data) ||
          (t.expected_output && !IsValidUtf8(*t.expected_output));
  }
  json tests = json::array();
  for (const auto& t : job.tests) {
    json tj = {{"stdin", b64 ? Base64Encode(t.stdin_data) : t.stdin_data}};
    if (t.expected_output) {
      tj["expected_output"] = b64 ? Base64Encode(*t.expected_output) : *t.expected_output;
    }
    tests.push_back(std::move(tj));
  }
  json j = {{"language", job.language},
            {"files", std::move(files)},
            {"tests", std::move(tests)},
            {"compare", CompareName(job.compare)},
            {"float_tolerance", job.float_tolerance},
            {"args", job.args},
            {"compiler_options", job.compiler_options}};
  if (!job.version.empty()) {
    j["version"] = job.version;
  }
  if (!job.main_file.empty()) {
    j["main_file"] = job.main_file;
  }
  // Only the fields the client named, so that the job decoded again after a restart gets the
  // same limits (an unnamed field is a default the language may raise).
  auto given_limits = [](const sandbox::Limits& l, engine::LimitFields given) {
    json out = EncodeLimits(l);
    for (auto it = out.begin(); it != out.end();) {
      it = given.Has(std::string_view(it.key())) ? std::next(it) : out.erase(it);
    }
    return out;
  };
  if (job.run_limits) {
    j["limits"] = given_limits(*job.run_limits, job.run_limits_given);
  }
  if (job.compile_limits) {
    j["compile_limits"] = given_limits(*job.compile_limits, job.compile_limits_given);
  }
  if (b64) {
    j["x_tests_base64"] = true;
  }
  return j;
}

bool DecodeStoredRequest(const json& j, const LimitsPolicy& policy, engine::Job* out,
                         ApiError* err) {
  if (!j.is_object()) {
    *err = BadRequest("", "stored request is not an object");
    return false;
  }
  json clean = json::object();
  bool b64 = false;
  for (const auto& [k, v] : j.items()) {
    if (k == "x_tests_base64") {
      b64 = v.is_boolean() && v.get<bool>();
    } else if (k.rfind("x_", 0) != 0) {
      clean[k] = v;
    }
  }
  if (!DecodeJobRequest(clean, policy, DecodeOptions{}, out, err)) {
    return false;
  }
  if (b64) {
    for (auto& t : out->tests) {
      std::string decoded;
      if (!Base64Decode(t.stdin_data, &decoded)) {
        *err = BadRequest("tests", "stored stdin is not base64");
        return false;
      }
      t.stdin_data = decoded;
      if (t.expected_output) {
        if (!Base64Decode(*t.expected_output, &decoded)) {
          *err = BadRequest("tests", "stored expected_output is not base64");
          return false;
        }
        t.expected_output = decoded;
      }
    }
  }
  return true;
}

JobService::JobService(engine::Engine* engine, store::Store* store, engine::JobQueue* queue,
                       Metrics* metrics, LimitsPolicy limits)
    : engine_(engine), store_(store), queue_(queue), metrics_(metrics), limits_(limits) {}

engine::QueueItem JobService::MakeItem(const std::string& id, engine::Job job,
                                       DoneCallback on_done) {
  struct Timing {
    SteadyClock::time_point queued = SteadyClock::now();
    SteadyClock::time_point started;
  };
  auto timing = std::make_shared<Timing>();
  engine::QueueItem item;
  item.id = id;
  item.job = std::move(job);
  item.on_start = [this, timing](const std::string& job_id) {
    timing->started = SteadyClock::now();
    Status s = store_->MarkRunning(job_id, NowUnixMs());
    if (!s) {
      spdlog::error("job {}: cannot mark running: {}", job_id, s.error().message);
    }
  };
  item.on_done = [this, timing, on_done = std::move(on_done)](
                     const std::string& job_id, Result<engine::JobResult> result, bool started) {
    double wait = started ? std::chrono::duration<double>(timing->started - timing->queued).count()
                          : SecondsSince(timing->queued);
    double run = started ? SecondsSince(timing->started) : 0;
    Finished(job_id, std::move(result), started, on_done, wait, run);
  };
  return item;
}

void JobService::Finished(const std::string& id, Result<engine::JobResult> result, bool started,
                          const DoneCallback& on_done, double queue_wait_s, double run_s) {
  if (!started) {
    // Still stored as queued: Recover() runs it after the restart.
    spdlog::info("job {}: not started before shutdown; it stays queued and runs after restart",
                 id);
    if (on_done) {
      on_done(MakeError(ErrorCode::kUnavailable,
                        "runbox is shutting down; job " + id +
                            " is saved and will run after the restart"));
    }
    return;
  }
  json result_json;
  std::string status;
  const std::string language = result ? result->language : std::string("?");
  if (result) {
    // Moved, not copied: a job's outputs may be tens of MiB and the JobResult is done with.
    result_json = EncodeJobResult(std::move(*result));
    status = result_json["status"].get<std::string>();
  } else {
    const Error& e = result.error();
    result_json = ErrorResult("the job could not be run: " + e.message);
    status = "SE";
  }
  metrics_->RecordRun(status, queue_wait_s, run_s);
  spdlog::info("run id={} language={} status={} queue_ms={:.0f} run_ms={:.0f}", id,
               language, status, queue_wait_s * 1000,
               run_s * 1000);
  int64_t finished_at = NowUnixMs();
  std::string result_text = Dump(result_json);
  Status s = store_->MarkDone(id, result_text, finished_at);
  Result<store::JobRecord> record = s ? store_->GetJob(id) : Result<store::JobRecord>(s.error());
  if (!record) {
    // The store refused the result (a full disk) or cannot read it back. The job still ends
    // now, as SE, from memory: whoever waits and every poller see "done" with the reason, and
    // FlushUnstored() writes the same record later, so the answer never changes. (The run's
    // own result is not kept: a result only some clients ever saw is not one to promise.)
    // Answering "running" would leave every poller polling forever.
    spdlog::error("job {}: cannot store the result ({}); it ends as SE, kept in memory until "
                  "the store takes it",
                  id, record.error().message);
    bool full = record.error().sys_errno == ENOSPC;
    result_text = Dump(ErrorResult(
        std::string("the job ran, but its result could not be stored: ") +
        (full ? "the server's disk is full" : record.error().message)));
    metrics_->RecordRejected("storage_full");
    store::JobRecord mem;
    auto stored = store_->GetJob(id);
    if (stored) {
      mem = *stored;
    } else {
      mem.id = id;
      mem.request_json = "{}";
    }
    mem.state = store::JobState::kDone;
    mem.result_json = result_text;
    mem.finished_at_ms = finished_at;
    {
      std::lock_guard<std::mutex> lock(mu_);
      unstored_[id] = mem;
    }
    record = mem;
  }
  if (record) {
    std::vector<FinishListener> listeners;
    {
      std::lock_guard<std::mutex> lock(mu_);
      listeners = listeners_;
    }
    for (const auto& l : listeners) {
      l(*record);
    }
  }
  if (on_done) {
    on_done(std::move(record));
  }
}

Result<std::string> JobService::Submit(const engine::Job& job, const json& extras,
                                       DoneCallback on_done) {
  json request = EncodeStoredRequest(job);
  if (extras.is_object()) {
    for (const auto& [k, v] : extras.items()) {
      request[k] = v;
    }
  }
  store::JobRecord record;
  record.id = "j_" + store::RandomId(20);
  record.state = store::JobState::kQueued;
  record.request_json = Dump(request);
  record.created_at_ms = NowUnixMs();
  RUNBOX_TRY(store_->InsertJob(record));
  Status pushed = queue_->Push(MakeItem(record.id, job, std::move(on_done)));
  if (!pushed) {
    (void)store_->DeleteJob(record.id);
    if (pushed.error().code == ErrorCode::kResourceExhausted) {
      metrics_->RecordRejected("queue_full");
    }
    return std::move(pushed).error();
  }
  return record.id;
}

Status JobService::SubmitInteractive(
    const std::string& id, engine::Job job, engine::RunHooks hooks,
    std::function<void(Result<engine::JobResult>, bool started)> on_done) {
  auto queued = std::make_shared<SteadyClock::time_point>(SteadyClock::now());
  auto started_at = std::make_shared<SteadyClock::time_point>();
  engine::QueueItem item;
  item.id = id;
  item.job = std::move(job);
  item.hooks = std::move(hooks);
  item.on_start = [started_at](const std::string&) { *started_at = SteadyClock::now(); };
  item.on_done = [this, queued, started_at, on_done = std::move(on_done)](
                     const std::string& run_id, Result<engine::JobResult> r, bool started) {
    if (started) {
      std::string status = r ? OverallStatus(*r) : "SE";
      double wait = std::chrono::duration<double>(*started_at - *queued).count();
      double run = SecondsSince(*started_at);
      metrics_->RecordRun(status, wait, run);
      spdlog::info("run id={} interactive=true language={} status={} queue_ms={:.0f} "
                   "run_ms={:.0f}",
                   run_id, r ? r->language : std::string("?"), status, wait * 1000, run * 1000);
    }
    on_done(std::move(r), started);
  };
  Status s = queue_->Push(std::move(item));
  if (!s && s.error().code == ErrorCode::kResourceExhausted) {
    metrics_->RecordRejected("queue_full");
  }
  return s;
}

Result<store::JobRecord> JobService::Get(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = unstored_.find(id);
    if (it != unstored_.end()) {
      return it->second;
    }
  }
  return store_->GetJob(id);
}

Result<std::vector<std::optional<store::JobRecord>>> JobService::GetMany(
    const std::vector<std::string>& ids) {
  RUNBOX_ASSIGN_OR_RETURN(auto records, store_->GetJobs(ids));
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < ids.size() && i < records.size(); ++i) {
    auto it = unstored_.find(ids[i]);
    if (it != unstored_.end()) {
      records[i] = it->second;
    }
  }
  return records;
}

size_t JobService::FlushUnstored() {
  std::map<std::string, store::JobRecord> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending = unstored_;
  }
  for (const auto& [id, record] : pending) {
    Status s = store_->MarkDone(id, record.result_json, record.finished_at_ms);
    if (s || s.error().code == ErrorCode::kNotFound) {
      std::lock_guard<std::mutex> lock(mu_);
      unstored_.erase(id);
      if (s) {
        spdlog::info("job {}: result stored after all", id);
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  return unstored_.size();
}

Result<store::Store::PruneStats> JobService::Prune(std::chrono::milliseconds max_age,
                                                   uint64_t max_bytes) {
  int64_t before = max_age.count() > 0 ? NowUnixMs() - max_age.count() : 0;
  return store_->PruneJobs(before, max_bytes);
}

std::vector<engine::LanguageInfo> JobService::Languages() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!languages_) {
    languages_ = engine_->Languages();
  }
  return *languages_;
}

std::optional<engine::LanguageInfo> JobService::FindLanguage(const std::string& name) {
  std::string n = ToLower(name);
  for (const auto& l : Languages()) {
    if (!l.installed) {
      continue;
    }
    if (ToLower(l.id) == n) {
      return l;
    }
    for (const auto& a : l.aliases) {
      if (ToLower(a) == n) {
        return l;
      }
    }
  }
  return std::nullopt;
}

Result<size_t> JobService::Recover() {
  RUNBOX_ASSIGN_OR_RETURN(
      auto failed,
      store_->FailRunningJobs(Dump(ErrorResult("runbox stopped while this job was running (a "
                                               "crash or a forced kill); it was not run again")),
                              NowUnixMs()));
  for (const auto& id : failed) {
    spdlog::warn("job {}: was running when runbox stopped; marked failed", id);
  }
  RUNBOX_ASSIGN_OR_RETURN(auto queued, store_->ListJobs(store::JobState::kQueued));
  size_t requeued = 0;
  for (const auto& record : queued) {
    json request = json::parse(record.request_json, nullptr, false);
    engine::Job job;
    ApiError err;
    if (!DecodeStoredRequest(request, limits_, &job, &err)) {
      spdlog::warn("job {}: stored request no longer valid: {}", record.id, err.message);
      RUNBOX_TRY(store_->MarkDone(
          record.id, Dump(ErrorResult("after a restart the job was no longer valid: " +
                                      err.message)),
          NowUnixMs()));
      continue;
    }
    RUNBOX_TRY(queue_->PushRecovered(MakeItem(record.id, std::move(job), nullptr)));
    ++requeued;
  }
  if (requeued) {
    spdlog::info("re-queued {} job(s) saved before the last stop", requeued);
  }
  return requeued;
}

void JobService::AddFinishListener(FinishListener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.push_back(std::move(listener));
}

std::vector<std::string> JobService::Shutdown() {
  auto not_started = queue_->Shutdown();
  size_t left = FlushUnstored();
  if (left > 0) {
    spdlog::error("{} finished job(s) could not be stored (disk full?); after the restart they "
                  "show as failed",
                  left);
  }
  return not_started;
}

QueueGauges JobService::Gauges() const {
  QueueGauges g;
  g.waiting = queue_->waiting();
  g.running = queue_->running();
  g.capacity = queue_->capacity();
  g.slots = engine_->slots();
  g.busy_slots = engine_->busy_slots();
  const engine::BoxPoolStats boxes = engine_->box_stats();
  g.prepared_boxes = boxes.ready;
  g.prepared_box_hits = boxes.hits;
  g.prepared_box_misses = boxes.misses;
  g.interactive = interactive_;
  return g;
}

size_t JobService::QueueFree() const {
  size_t w = queue_->waiting();
  return w >= queue_->capacity() ? 0 : queue_->capacity() - w;
}

}  // namespace runbox::server
