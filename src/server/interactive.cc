#include "server/interactive.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>

#include "base/scope_exit.h"
#include "base/units.h"
#include "server/piston_codec.h"

namespace runbox::server {

// ---------------------------------------------------------------------------------------------
// InteractiveRun

std::shared_ptr<InteractiveRun> InteractiveRun::Create() {
  return std::shared_ptr<InteractiveRun>(new InteractiveRun());
}

InteractiveRun::~InteractiveRun() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    abort_writer_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) {
    if (writer_.get_id() == std::this_thread::get_id()) {
      writer_.detach();  // the writer held the last reference; it returns right after
    } else {
      writer_.join();
    }
  }
}

Status InteractiveRun::OpenPipes() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    return ErrnoError("pipe2 (stdin)");
  }
  stdin_read_.reset(p[0]);
  stdin_write_.reset(p[1]);
  // The writer polls, so a program that never reads its stdin cannot wedge a thread forever.
  ::fcntl(stdin_write_.get(), F_SETFL, O_NONBLOCK);
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
    return ErrnoError("pipe2 (cancel)");
  }
  cancel_read_.reset(p[0]);
  cancel_write_.reset(p[1]);
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
    return ErrnoError("pipe2 (signals)");
  }
  signal_read_.reset(p[0]);
  signal_write_.reset(p[1]);
  return OkStatus();
}

Status InteractiveRun::Start(JobService& jobs, engine::Job job, bool compiled,
                             Callbacks callbacks, TimerQueue* timers,
                             std::chrono::milliseconds idle_limit) {
  RUNBOX_TRY(OpenPipes());
  timers_ = timers;
  idle_limit_ = idle_limit;
  Touch();
  writer_ = std::thread([self = shared_from_this()] { self->WriterLoop(); });

  auto cb = std::make_shared<Callbacks>(std::move(callbacks));
  std::weak_ptr<InteractiveRun> weak = weak_from_this();
  engine::RunHooks hooks;
  hooks.stdin_fd = stdin_read_.get();
  hooks.cancel_fd = cancel_read_.get();
  hooks.signal_fd = signal_read_.get();
  hooks.on_output = [weak, cb](int stream, std::string_view data) {
    if (auto self = weak.lock()) {
      self->Touch();
    }
    if (cb->on_output) {
      cb->on_output(stream, data);
    }
  };
  auto started_once = std::make_shared<std::once_flag>();
  hooks.on_compiled = [cb, started_once] {
    std::call_once(*started_once, [&] {
      if (cb->on_started) {
        cb->on_started();
      }
    });
  };
  std::string id = "i_" + store::RandomId(12);
  auto self = shared_from_this();
  Status s = jobs.SubmitInteractive(
      id, std::move(job), std::move(hooks),
      [self, cb](Result<engine::JobResult> result, bool started) {
        self->done_ = true;
        if (self->idle_timer_ && self->timers_) {
          self->timers_->Cancel(self->idle_timer_);
        }
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          self->abort_writer_ = true;
          self->DropPendingLocked();  // the session may outlive the run; its stdin need not
        }
        self->cv_.notify_all();
        cb->on_done(std::move(result), started, static_cast<Ending>(self->ending_.load()));
      });
  if (!s) {
    Kill(Ending::kClientGone);
    return s;
  }
  // Interpreted languages have no compile step; for them the run starts when a slot is free,
  // which on_compiled also reports if the engine calls it for every job.
  (void)compiled;
  ArmIdleTimer(idle_limit_);
  return OkStatus();
}

void InteractiveRun::ArmIdleTimer(std::chrono::milliseconds delay) {
  if (!timers_ || idle_limit_.count() <= 0) {
    return;
  }
  std::weak_ptr<InteractiveRun> weak = weak_from_this();
  idle_timer_ = timers_->After(delay, [weak] {
    auto self = weak.lock();
    if (!self || self->done_) {
      return;
    }
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::duration(now - self->last_activity_.load()));
    if (idle >= self->idle_limit_) {
      self->Kill(Ending::kIdle);
    } else {
      self->ArmIdleTimer(self->idle_limit_ - idle);
    }
  });
}

bool InteractiveRun::WriteStdin(std::string data) {
  Touch();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (close_stdin_ || abort_writer_) {
      return true;  // the run is ending: the data has nowhere to go, which is no overflow
    }
    if (buffered_ + data.size() > max_buffered_) {
      return false;
    }
    buffered_ += data.size();
    pending_.push_back(std::move(data));
  }
  cv_.notify_all();
  return true;
}

void InteractiveRun::DropPendingLocked() {
  std::deque<std::string>().swap(pending_);  // clear() would keep the deque's blocks
  buffered_ = 0;
}

void InteractiveRun::CloseStdin() {
  Touch();
  {
    std::lock_guard<std::mutex> lock(mu_);
    close_stdin_ = true;
  }
  cv_.notify_all();
}

void InteractiveRun::Kill(Ending why) {
  int expected = static_cast<int>(Ending::kNormal);
  ending_.compare_exchange_strong(expected, static_cast<int>(why));
  if (cancel_write_.valid()) {
    char b = 1;
    (void)::write(cancel_write_.get(), &b, 1);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    abort_writer_ = true;
    DropPendingLocked();
  }
  cv_.notify_all();
}

void InteractiveRun::Signal(int sig) {
  Touch();
  if (sig == SIGKILL) {
    Kill(Ending::kKilled);
    return;
  }
  if (signal_write_.valid() && sig > 0 && sig < 256) {
    unsigned char b = static_cast<unsigned char>(sig);
    (void)!::write(signal_write_.get(), &b, 1);
  }
}

void InteractiveRun::WriterLoop() {
  for (;;) {
    std::string chunk;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return abort_writer_ || close_stdin_ || !pending_.empty(); });
      if (abort_writer_) {
        break;
      }
      if (pending_.empty()) {
        break;  // close_stdin_ and everything written
      }
      chunk = std::move(pending_.front());
      pending_.pop_front();
    }
    // The chunk counts against the cap until it is in the pipe.
    ScopeExit written([this, size = chunk.size()] {
      std::lock_guard<std::mutex> lock(mu_);
      buffered_ = buffered_ >= size ? buffered_ - size : 0;
    });
    size_t off = 0;
    while (off < chunk.size()) {
      ssize_t n = ::write(stdin_write_.get(), chunk.data() + off, chunk.size() - off);
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && errno == EAGAIN) {
        pollfd pfd = {stdin_write_.get(), POLLOUT, 0};
        ::poll(&pfd, 1, 100);
        std::lock_guard<std::mutex> lock(mu_);
        if (abort_writer_) {
          goto out;
        }
        continue;
      }
      goto out;  // EPIPE: the program closed its stdin or ended
    }
  }
out:
  // EOF for the program once everything asked for is written (or the run is over).
  stdin_write_.reset();
}

// ---------------------------------------------------------------------------------------------
// Native protocol: GET /api/v1/ws/run

namespace {

json OutcomeFromResult(const Result<engine::JobResult>& result, InteractiveRun::Ending ending,
                       std::chrono::milliseconds idle_limit) {
  json r;
  if (result->compile_error && result->compile) {
    r = EncodeOutcome(*result->compile);
  } else if (!result->cases.empty()) {
    r = EncodeOutcome(result->cases[0].run);
  } else {
    r = EncodeOutcome(sandbox::Outcome{});
  }
  switch (ending) {
    case InteractiveRun::Ending::kKilled:
      r["status"] = "SG";
      r["signal"] = 9;
      r["exit_code"] = -1;
      r["message"] = "killed on request";
      break;
    case InteractiveRun::Ending::kIdle:
      r["status"] = "TLE";
      r["message"] = "no input and no output for " + FormatDuration(idle_limit) +
                     " (interactive idle limit)";
      break;
    default: break;
  }
  return r;
}

// What both WebSocket protocols share: the session counts as interactive while it is open, the
// client must start a run within Derived::kInitLimit (else Derived::InitTimedOutLocked()), and a
// client that goes away ends its run.
template <typename Derived>
class InteractiveSession : public WsHandler, public std::enable_shared_from_this<Derived> {
 public:
  explicit InteractiveSession(ApiContext& ctx) : ctx_(ctx) {}

  // The exception boundary of both protocols (STYLE.md §3): these run on an I/O thread with no
  // catch above them, where one throw is std::terminate and every job in flight is lost. A throw
  // ends this session with an internal error; the server goes on.
  void OnOpen(std::shared_ptr<WsConnection> conn) override {
    Guarded("open", [&] { OpenImpl(std::move(conn)); });
  }
  void OnMessage(const std::string& text) override {
    Guarded("message", [&] { static_cast<Derived*>(this)->HandleMessage(text); });
  }
  void OnClose() override {
    Guarded("close", [&] { CloseImpl(); });
  }

 private:
  template <typename F>
  void Guarded(const char* what, F&& f) {
    std::string error;
    try {
      f();
      return;
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "a non-exception";
    }
    spdlog::error("ws {}: handler threw: {}", what, error);
    try {
      std::lock_guard<std::mutex> lock(mu_);
      static_cast<Derived*>(this)->InternalErrorLocked();
    } catch (...) {
      // Nothing more to do for this session; the server itself must go on.
    }
  }

  void OpenImpl(std::shared_ptr<WsConnection> conn) {
    std::lock_guard<std::mutex> lock(mu_);
    conn_ = std::move(conn);
    ctx_.jobs->AdjustInteractive(1);
    counted_ = true;
    std::weak_ptr<Derived> weak = this->weak_from_this();
    init_timer_ = ctx_.timers->After(Derived::kInitLimit, [weak] {
      if (auto self = weak.lock()) {
        std::lock_guard<std::mutex> l(self->mu_);
        if (!self->run_ && !self->finished_) {
          self->InitTimedOutLocked();
        }
      }
    });
  }

  void CloseImpl() {
    std::shared_ptr<InteractiveRun> run;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      run = run_;
      // The connection owns this handler, so holding it here is a cycle: without the reset no
      // session was ever freed, and each kept its connection slot until max_connections ran out.
      conn_.reset();
      ctx_.timers->Cancel(init_timer_);
      if (counted_) {
        ctx_.jobs->AdjustInteractive(-1);
        counted_ = false;
      }
    }
    if (run) {
      run->Kill(InteractiveRun::Ending::kClientGone);
    }
  }

 public:
  // Runs a completion or output callback of a run (on an engine worker) so that a throw in it
  // closes this session's socket instead of leaving the client waiting forever.
  static void CallbackGuarded(const std::shared_ptr<WsConnection>& conn, int close_code,
                              const std::function<void()>& f) {
    try {
      f();
    } catch (const std::exception& e) {
      spdlog::error("ws run callback threw: {}", e.what());
      conn->Close(close_code, "internal error");
    } catch (...) {
      spdlog::error("ws run callback threw");
      conn->Close(close_code, "internal error");
    }
  }

  // The stdin message did not fit (InteractiveRun::WriteStdin): counts the refusal for /metrics
  // and returns what to tell the client.
  std::string StdinOverflow() const {
    ctx_.metrics->RecordRejected("ws_stdin_overflow");
    return "stdin: more than " + std::to_string(ctx_.config->ws_stdin_buffer_bytes) +
           " bytes are waiting for the program to read them; the session ends (the program does "
           "not read its stdin fast enough)";
  }

  // For a run's completion callback: marks the session finished. False when it already was (it
  // ended first: an error, a timeout); a session already gone does not count as finished.
  static bool MarkFinished(const std::weak_ptr<Derived>& weak) {
    auto self = weak.lock();
    if (!self) {
      return true;
    }
    std::lock_guard<std::mutex> lock(self->mu_);
    if (self->finished_) {
      return false;
    }
    self->finished_ = true;
    return true;
  }

 protected:
  ApiContext& ctx_;
  std::mutex mu_;
  std::shared_ptr<WsConnection> conn_;
  std::shared_ptr<InteractiveRun> run_;
  uint64_t init_timer_ = 0;
  bool finished_ = false;
  bool closed_ = false;
  bool counted_ = false;
};

class NativeRunHandler : public InteractiveSession<NativeRunHandler> {
 public:
  static constexpr std::chrono::seconds kInitLimit{10};
  explicit NativeRunHandler(ApiContext& ctx) : InteractiveSession(ctx) {}

  void InitTimedOutLocked() {
    FailLocked({400, "invalid_argument", "no start message within 10 s", ""}, 1008);
  }

  void InternalErrorLocked() {
    FailLocked({500, "internal", "internal error; the session ends", ""}, 1011);
  }

  void HandleMessage(const std::string& text) {
    std::unique_lock<std::mutex> lock(mu_);
    if (finished_) {
      return;
    }
    json msg;
    ApiError parse_error;
    if (!ParseJsonBody(text, &msg, &parse_error, "the message")) {
      FailLocked(BadRequest("type", "each message is a JSON object with a \"type\" (" +
                                        parse_error.message + ")"),
                 1008);
      return;
    }
    if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string()) {
      FailLocked(BadRequest("type", "each message is a JSON object with a \"type\""), 1008);
      return;
    }
    std::string type = msg["type"].get<std::string>();
    if (!run_) {
      if (type != "start") {
        FailLocked(BadRequest("type", "the first message must be {\"type\": \"start\", ...}"),
                   1008);
        return;
      }
      StartLocked(msg);
      return;
    }
    if (type == "stdin") {
      if (!msg.contains("data") || !msg["data"].is_string()) {
        FailLocked(BadRequest("data", "a stdin message carries a string \"data\""), 1008);
        return;
      }
      if (!run_->WriteStdin(msg["data"].get<std::string>())) {
        FailLocked({413, "limit_exceeded", StdinOverflow(), "data"}, 1009);
      }
    } else if (type == "stdin_close") {
      run_->CloseStdin();
    } else if (type == "kill" || type == "signal") {
      if (type == "signal") {
        std::string sig = JStr(msg, "signal", "");
        int number = sig == "SIGINT" ? SIGINT : sig == "SIGTERM" ? SIGTERM : sig == "SIGKILL" ? SIGKILL : 0;
        if (number == 0) {
          FailLocked(BadRequest("signal", "expected SIGINT, SIGTERM or SIGKILL"), 1008);
          return;
        }
        run_->Signal(number);  // the program may handle SIGINT and SIGTERM
        return;
      }
      run_->Kill(InteractiveRun::Ending::kKilled);
    } else if (type == "start") {
      FailLocked(BadRequest("type", "the run has already started"), 1008);
    } else {
      FailLocked(BadRequest("type", "unknown message type '" + type + "'"), 1008);
    }
  }


 private:
  void FailLocked(const ApiError& e, int close_code) {
    if (finished_) {
      return;
    }
    finished_ = true;
    json err = {{"code", e.code}, {"message", e.message}};
    if (!e.field.empty()) {
      err["field"] = e.field;
    }
    if (conn_) {
      conn_->Send(Dump(json{{"type", "error"}, {"error", err}}));
      conn_->Close(close_code, e.code);
    }
    if (run_) {
      run_->Kill(InteractiveRun::Ending::kClientGone);
    }
  }

  void StartLocked(const json& msg) {
    engine::Job job;
    ApiError err;
    DecodeOptions opts;
    opts.allow_tests = false;
    if (!DecodeJobRequest(msg, PolicyOf(*ctx_.config), opts, &job, &err)) {
      FailLocked(err, 1008);
      return;
    }
    auto lang = ctx_.jobs->FindLanguage(job.language);
    if (!lang) {
      FailLocked({404, "not_found", "language: unknown or not installed language '" +
                                        job.language + "'",
                  "language"},
                 1008);
      return;
    }
    // The start message's stdin (if any) is written first; the test case itself has none.
    std::string initial_stdin = job.tests.empty() ? "" : job.tests[0].stdin_data;
    job.tests.assign(1, engine::TestCase{});
    ctx_.timers->Cancel(init_timer_);
    run_ = InteractiveRun::Create();
    run_->set_max_buffered_stdin(ctx_.config->ws_stdin_buffer_bytes);
    std::weak_ptr<NativeRunHandler> weak = weak_from_this();
    auto conn = conn_;
    InteractiveRun::Callbacks cb;
    auto started_sent = std::make_shared<std::atomic<bool>>(false);
    cb.on_started = [conn, started_sent] {
      if (!started_sent->exchange(true)) {
        conn->Send(R"({"type":"started"})");
      }
    };
    cb.on_output = [conn, started_sent](int stream, std::string_view data) {
      if (!started_sent->exchange(true)) {
        conn->Send(R"({"type":"started"})");
      }
      conn->Send(Dump(json{{"type", stream == 2 ? "stderr" : "stdout"},
                           {"data", std::string(data)}}));
    };
    std::chrono::milliseconds idle = ctx_.config->ws_idle_timeout;
    cb.on_done = [weak, conn, started_sent, idle](Result<engine::JobResult> result, bool started,
                                                  InteractiveRun::Ending ending) {
      CallbackGuarded(conn, 1011, [&] {
        if (!MarkFinished(weak)) {
          return;
        }
        if (!started) {
          conn->Send(Dump(json{{"type", "error"},
                               {"error", {{"code", "unavailable"},
                                          {"message", "runbox is shutting down"}}}}));
          conn->Close(1001, "shutting down");
          return;
        }
        if (!result) {
          ApiError e = FromError(result.error());
          conn->Send(Dump(json{{"type", "error"},
                               {"error", {{"code", e.code}, {"message", e.message}}}}));
          conn->Close(1011, "engine error");
          return;
        }
        if (result->compile) {
          conn->Send(Dump(json{{"type", "compile"}, {"result", EncodeOutcome(*result->compile)}}));
        }
        if (!result->compile_error && !started_sent->exchange(true)) {
          conn->Send(R"({"type":"started"})");
        }
        json exit = OutcomeFromResult(result, ending, idle);
        std::string status = result->compile_error ? "CE" : exit["status"].get<std::string>();
        conn->Send(Dump(json{{"type", "exit"}, {"status", status}, {"result", exit}}));
        conn->Close(1000, "done");
      });
    };
    Status s = run_->Start(*ctx_.jobs, std::move(job), lang->compiled, std::move(cb),
                           ctx_.timers, idle);
    if (!s) {
      auto run = std::move(run_);
      run_.reset();
      ApiError e = FromError(s.error());
      FailLocked(e, e.status == 503 ? 1013 : 1011);
      return;
    }
    if (!initial_stdin.empty() && !run_->WriteStdin(std::move(initial_stdin))) {
      FailLocked({413, "limit_exceeded", StdinOverflow(), "stdin"}, 1009);
      return;
    }
    if (closed_) {
      run_->Kill(InteractiveRun::Ending::kClientGone);
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Piston: /api/v2/connect (api/src/api/v2.js, router.ws('/connect'))

class PistonConnectHandler : public InteractiveSession<PistonConnectHandler> {
 public:
  // v2.js: "Terminate the socket after 1 second, if not initialized."
  static constexpr std::chrono::seconds kInitLimit{1};
  explicit PistonConnectHandler(ApiContext& ctx) : InteractiveSession(ctx) {}

  void InitTimedOutLocked() { CloseLocked(4001, "Initialization Timeout"); }

  void InternalErrorLocked() { NotifyErrorLocked("internal error"); }

  void HandleMessage(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) {
      return;
    }
    json msg;
    ApiError parse_error;
    if (!ParseJsonBody(text, &msg, &parse_error, "the message")) {
      NotifyErrorLocked(parse_error.message);
      return;
    }
    if (!msg.is_object()) {
      NotifyErrorLocked("Unexpected token in JSON");
      return;
    }
    std::string type = JStr(msg, "type", "");
    if (type == "init") {
      if (run_) {
        CloseLocked(4000, "Already Initialized");
        return;
      }
      InitLocked(msg);
    } else if (type == "data") {
      if (!run_) {
        CloseLocked(4003, "Not yet initialized");
        return;
      }
      if (JStr(msg, "stream", "") != "stdin") {
        CloseLocked(4004, "Can only write to stdin");
        return;
      }
      if (!run_->WriteStdin(JStr(msg, "data", ""))) {
        NotifyErrorLocked(StdinOverflow());
      }
    } else if (type == "signal") {
      if (!run_) {
        CloseLocked(4003, "Not yet initialized");
        return;
      }
      // Piston's list (its ws handler accepts these names and sends the signal to the process).
      static const std::pair<const char*, int> kSignals[] = {
          {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},       {"SIGQUIT", SIGQUIT},
          {"SIGILL", SIGILL},   {"SIGTRAP", SIGTRAP},     {"SIGABRT", SIGABRT},
          {"SIGBUS", SIGBUS},   {"SIGFPE", SIGFPE},       {"SIGKILL", SIGKILL},
          {"SIGUSR1", SIGUSR1}, {"SIGSEGV", SIGSEGV},     {"SIGUSR2", SIGUSR2},
          {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM},     {"SIGTERM", SIGTERM},
          {"SIGSTKFLT", SIGSTKFLT}, {"SIGCHLD", SIGCHLD}, {"SIGCONT", SIGCONT},
          {"SIGSTOP", SIGSTOP}, {"SIGTSTP", SIGTSTP},     {"SIGTTIN", SIGTTIN},
          {"SIGTTOU", SIGTTOU}, {"SIGURG", SIGURG},       {"SIGXCPU", SIGXCPU},
          {"SIGXFSZ", SIGXFSZ}, {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF},
          {"SIGWINCH", SIGWINCH}, {"SIGIO", SIGIO},       {"SIGPWR", SIGPWR},
          {"SIGSYS", SIGSYS}};
      std::string sig = JStr(msg, "signal", "");
      int number = 0;
      for (const auto& [name, value] : kSignals) {
        if (sig == name) {
          number = value;
        }
      }
      if (number == 0) {
        CloseLocked(4005, "Invalid signal");
        return;
      }
      run_->Signal(number);
    }
  }


 private:
  void CloseLocked(int code, const std::string& reason) {
    if (finished_) {
      return;
    }
    finished_ = true;
    if (conn_) {
      conn_->Close(code, reason);
    }
    if (run_) {
      run_->Kill(InteractiveRun::Ending::kClientGone);
    }
  }

  // v2.js: "ws.close message is limited to 123 characters, so we notify over WS then close."
  void NotifyErrorLocked(const std::string& message) {
    if (conn_ && !finished_) {
      conn_->Send(Dump(json{{"type", "error"}, {"message", message}}));
    }
    CloseLocked(4002, "Notified Error");
  }

  void InitLocked(const json& msg) {
    PistonJob pj;
    std::string message;
    if (!DecodePistonJob(msg, ctx_, &pj, &message)) {
      NotifyErrorLocked(message);
      return;
    }
    ctx_.timers->Cancel(init_timer_);
    // In Piston's WebSocket mode the init message's stdin is not written; stdin comes from
    // "data" messages.
    pj.job.tests.assign(1, engine::TestCase{});
    auto conn = conn_;
    conn->Send(Dump(json{{"type", "runtime"},
                         {"language", pj.language.id},
                         {"version", SemverOf(pj.language.version)}}));
    bool compiled = pj.language.compiled;
    if (compiled) {
      conn->Send(R"({"type":"stage","stage":"compile"})");
    }
    run_ = InteractiveRun::Create();
    run_->set_max_buffered_stdin(ctx_.config->ws_stdin_buffer_bytes);
    std::weak_ptr<PistonConnectHandler> weak = weak_from_this();
    auto run_stage_sent = std::make_shared<std::atomic<bool>>(false);
    InteractiveRun::Callbacks cb;
    cb.on_started = [conn, compiled, run_stage_sent] {
      if (run_stage_sent->exchange(true)) {
        return;
      }
      if (compiled) {
        conn->Send(R"({"type":"exit","stage":"compile","code":0,"signal":null})");
      }
      conn->Send(R"({"type":"stage","stage":"run"})");
    };
    cb.on_output = [conn, compiled, run_stage_sent](int stream, std::string_view data) {
      if (!run_stage_sent->exchange(true)) {
        if (compiled) {
          conn->Send(R"({"type":"exit","stage":"compile","code":0,"signal":null})");
        }
        conn->Send(R"({"type":"stage","stage":"run"})");
      }
      conn->Send(Dump(json{{"type", "data"},
                           {"stream", stream == 2 ? "stderr" : "stdout"},
                           {"data", std::string(data)}}));
    };
    cb.on_done = [weak, conn, compiled, run_stage_sent](Result<engine::JobResult> result,
                                                        bool started,
                                                        InteractiveRun::Ending ending) {
      CallbackGuarded(conn, 4002, [&] {
        if (!MarkFinished(weak)) {
          return;
        }
        if (!started || !result) {
          conn->Send(Dump(json{{"type", "error"},
                               {"message", started ? result.error().message
                                                   : std::string("runbox is shutting down")}}));
          conn->Close(4002, "Notified Error");
          return;
        }
        if (result->compile_error && result->compile) {
          json stage = EncodePistonStage(EncodeOutcome(*result->compile));
          if (!stage["stdout"].get<std::string>().empty()) {
            conn->Send(Dump(json{{"type", "data"}, {"stream", "stdout"}, {"data", stage["stdout"]}}));
          }
          if (!stage["stderr"].get<std::string>().empty()) {
            conn->Send(Dump(json{{"type", "data"}, {"stream", "stderr"}, {"data", stage["stderr"]}}));
          }
          conn->Send(Dump(json{{"type", "exit"},
                               {"stage", "compile"},
                               {"code", stage["code"]},
                               {"signal", stage["signal"]}}));
          conn->Close(4999, "Job Completed");
          return;
        }
        if (!run_stage_sent->exchange(true)) {
          if (compiled) {
            conn->Send(R"({"type":"exit","stage":"compile","code":0,"signal":null})");
          }
          conn->Send(R"({"type":"stage","stage":"run"})");
        }
        json outcome = result->cases.empty() ? EncodeOutcome(sandbox::Outcome{})
                                             : EncodeOutcome(result->cases[0].run);
        json stage = EncodePistonStage(outcome);
        if (ending == InteractiveRun::Ending::kKilled) {
          stage["code"] = nullptr;
          stage["signal"] = "SIGKILL";
        }
        conn->Send(Dump(json{{"type", "exit"},
                             {"stage", "run"},
                             {"code", stage["code"]},
                             {"signal", stage["signal"]}}));
        conn->Close(4999, "Job Completed");
      });
    };
    Status s = run_->Start(*ctx_.jobs, std::move(pj.job), compiled, std::move(cb), ctx_.timers,
                           ctx_.config->ws_idle_timeout);
    if (!s) {
      run_.reset();
      NotifyErrorLocked(s.error().message);
    }
  }
};

}  // namespace

std::shared_ptr<WsHandler> MakeNativeRunHandler(ApiContext& ctx) {
  return std::make_shared<NativeRunHandler>(ctx);
}

std::shared_ptr<WsHandler> MakePistonConnectHandler(ApiContext& ctx) {
  return std::make_shared<PistonConnectHandler>(ctx);
}

void RegisterInteractiveApis(Router& router, ApiContext& ctx) {
  ApiContext* c = &ctx;
  router.AddWebSocket("/api/v1/ws/run", ApiStyle::kNative,
                      [c](const HttpRequest&, const PathParams&) { return MakeNativeRunHandler(*c); });
  router.AddWebSocket("/api/v2/connect", ApiStyle::kPiston,
                      [c](const HttpRequest&, const PathParams&) {
                        return MakePistonConnectHandler(*c);
                      });
}

}  // namespace runbox::server
