// The Beast translation unit: listener, HTTP session, WebSocket session and the callback client.
// Everything above it (router, handlers) deals in plain HttpRequest/HttpResponse values; keeping
// Beast in this one file keeps the build fast (STYLE.md: Beast's example/http/server layout).

#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "server/codec.h"
#include "server/metrics.h"
#include "server/url.h"

namespace runbox::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class HttpSession;
class WsSession;

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(const Router* r, HttpServerOptions o) : router(r), opt(std::move(o)), acceptor(ioc) {}

  void DoAccept();
  void OnAcceptError(const beast::error_code& ec);
  // Takes a connection slot for `ip`; false when a cap is reached.
  bool TakeSlot(const std::string& ip) {
    std::lock_guard<std::mutex> lock(mu);
    size_t& n = per_ip[ip];
    if (connections >= opt.max_connections || n >= opt.max_connections_per_ip) {
      if (n == 0) {
        per_ip.erase(ip);
      }
      return false;
    }
    ++n;
    ++connections;
    return true;
  }
  void ReleaseSlot(const std::string& ip) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = per_ip.find(ip);
    if (it != per_ip.end() && --it->second == 0) {
      per_ip.erase(it);
    }
    --connections;
  }
  void Register(void* key, std::weak_ptr<HttpSession> s) {
    std::lock_guard<std::mutex> lock(mu);
    http_sessions[key] = std::move(s);
  }
  void Register(void* key, std::weak_ptr<WsSession> s) {
    std::lock_guard<std::mutex> lock(mu);
    ws_sessions[key] = std::move(s);
  }
  // A request or connection refused here, before the router (it counts its own).
  void Rejected(const char* reason) {
    if (opt.metrics) {
      opt.metrics->RecordRejected(reason);
    }
  }
  void Unregister(void* key) {
    std::lock_guard<std::mutex> lock(mu);
    http_sessions.erase(key);
    ws_sessions.erase(key);
  }

  const Router* router;
  HttpServerOptions opt;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::map<void*, std::weak_ptr<HttpSession>> http_sessions;
  std::map<void*, std::weak_ptr<WsSession>> ws_sessions;
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
  size_t connections = 0;                 // under mu
  std::map<std::string, size_t> per_ip;   // under mu
  // Accept back-off: only the accept handler touches these, and one accept is in flight.
  net::steady_timer accept_timer{ioc};
  std::chrono::milliseconds accept_backoff{0};
  uint64_t accept_failures = 0;
};

// One counted connection; released when the last session holding it (HTTP, then maybe its
// WebSocket) is gone.
class ConnectionSlot {
 public:
  ConnectionSlot(std::shared_ptr<HttpServer::Impl> server, std::string ip)
      : server_(std::move(server)), ip_(std::move(ip)) {}
  ~ConnectionSlot() { server_->ReleaseSlot(ip_); }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

 private:
  std::shared_ptr<HttpServer::Impl> server_;
  std::string ip_;
};

namespace {

std::string ToString(beast::string_view s) { return std::string(s.data(), s.size()); }

HttpRequest Convert(const http::request<http::string_body>& req, const std::string& remote_ip,
                    bool* ok) {
  HttpRequest out;
  out.method = ToString(req.method_string());
  out.target = ToString(req.target());
  for (const auto& field : req) {
    std::string name = ToLower(ToString(field.name_string()));
    auto it = out.headers.find(name);
    if (it == out.headers.end()) {
      out.headers[name] = ToString(field.value());
    } else {
      it->second += ", " + ToString(field.value());
    }
  }
  out.body = req.body();
  out.remote_ip = remote_ip;
  *ok = ParseTarget(out.target, &out.path, &out.query);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class WsSession : public WsConnection, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket&& socket, std::shared_ptr<HttpServer::Impl> server,
            std::shared_ptr<WsHandler> handler, std::shared_ptr<ConnectionSlot> slot)
      : ws_(std::move(socket)),
        server_(std::move(server)),
        handler_(std::move(handler)),
        slot_(std::move(slot)) {}
  ~WsSession() override { server_->Unregister(this); }

  void Start(http::request<http::string_body> req) {
    server_->Register(this, weak_from_this());
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "runbox");
    }));
    ws_.read_message_max(server_->opt.max_body_bytes);
    ws_.async_accept(req, beast::bind_front_handler(&WsSession::OnAccept, shared_from_this()));
  }

  void Send(std::string text) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), t = std::move(text)]() mutable {
      if (self->closing_ || self->gone_) {
        return;
      }
      if (!self->queue_.empty() && self->queued_bytes_ + t.size() > kMaxQueuedSendBytes) {
        return self->OnSendOverflow();
      }
      self->queued_bytes_ += t.size();
      self->queue_.push_back(std::move(t));
      if (!self->writing_) {
        self->DoWrite();
      }
    });
  }

  void Close(int code, std::string reason) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), code, r = std::move(reason)]() {
      if (self->closing_ || self->gone_) {
        return;
      }
      self->closing_ = true;
      self->close_code_ = code;
      // RFC 6455: a close reason is at most 123 bytes.
      self->close_reason_ = r.substr(0, 123);
      if (!self->writing_) {
        self->DoClose();
      }
    });
  }

  // Server shutdown: a polite close, then the socket.
  void Abort() {
    Close(1001, "server shutting down");
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      if (!self->writing_ && !self->close_sent_) {
        beast::get_lowest_layer(self->ws_).socket().close(ec);
      }
    });
  }

 private:
  void OnAccept(beast::error_code ec) {
    if (ec) {
      spdlog::info("ws handshake failed: {}", ec.message());
      Finish();
      return;
    }
    handler_->OnOpen(shared_from_this());
    DoRead();
  }

  void DoRead() {
    ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) {
      Finish();
      return;
    }
    std::string msg = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (!gone_) {  // after a send overflow the handler has had OnClose: no message follows
      handler_->OnMessage(msg);
    }
    DoRead();
  }

  // More than kMaxQueuedSendBytes wait for a client that does not read them. The frames not yet
  // on the wire are dropped, the handler learns the client is gone (an interactive run is
  // killed, so it stops producing output), and a close frame with the reason follows the frame
  // being written: a client that reads late still learns why.
  void OnSendOverflow() {
    spdlog::warn("ws: client does not read its messages ({} bytes waiting); closing it",
                 queued_bytes_);
    server_->Rejected("ws_send_overflow");
    while (queue_.size() > (writing_ ? 1u : 0u)) {
      queued_bytes_ -= queue_.back().size();
      queue_.pop_back();
    }
    closing_ = true;
    close_code_ = 1008;  // policy violation
    close_reason_ = "output not read: more than " + std::to_string(kMaxQueuedSendBytes) +
                    " bytes were waiting for this client";
    Finish();
    if (!writing_) {
      DoClose();
    }
  }

  // A frame (or the close frame) that the client has not taken within write_timeout: the client
  // stopped reading, and the socket goes, as an HTTP answer's would. Beast's websocket timeout
  // only watches the read side, so without this one write could wait forever.
  void ArmWriteTimer() {
    uint64_t gen = ++write_gen_;
    write_timer_.expires_after(server_->opt.write_timeout);
    write_timer_.async_wait([weak = weak_from_this(), gen](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || gen != self->write_gen_) {
        return;
      }
      spdlog::info("ws: client did not read for {} ms; dropped",
                   self->server_->opt.write_timeout.count());
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

  void DoWrite() {
    writing_ = true;
    ws_.text(true);
    ArmWriteTimer();
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&WsSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    writing_ = false;
    ++write_gen_;
    if (ec) {
      queue_.clear();
      queued_bytes_ = 0;
      return;  // the read side sees the failure too and calls Finish
    }
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    if (!queue_.empty()) {
      DoWrite();
    } else if (closing_ && !close_sent_) {
      DoClose();
    }
  }

  void DoClose() {
    close_sent_ = true;
    websocket::close_reason cr(static_cast<websocket::close_code>(close_code_),
                               beast::string_view(close_reason_));
    ArmWriteTimer();
    ws_.async_close(cr, [self = shared_from_this()](beast::error_code) { ++self->write_gen_; });
  }

  void Finish() {
    if (!gone_.exchange(true)) {
      handler_->OnClose();
    }
  }

  // Frames queued for one client beyond the one being written. A client that sends stdin to an
  // echoing program, or lets a program print, and never reads would otherwise make the server
  // hold all of it: up to the output limit per run, six times that as JSON-escaped bytes, times
  // every connection (issue 12). 8 MiB is far more than a client that reads falls behind by;
  // the worst case becomes max_connections times 8 MiB instead of unbounded.
  static constexpr uint64_t kMaxQueuedSendBytes = 8ull << 20;

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<HttpServer::Impl> server_;
  std::shared_ptr<WsHandler> handler_;
  std::shared_ptr<ConnectionSlot> slot_;
  std::deque<std::string> queue_;
  uint64_t queued_bytes_ = 0;  // sum of queue_'s sizes
  net::steady_timer write_timer_{ws_.get_executor()};
  uint64_t write_gen_ = 0;  // a write timer armed for an older write is stale
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  int close_code_ = 1000;
  std::string close_reason_;
  std::atomic<bool> gone_{false};
};

// ---------------------------------------------------------------------------------------------

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // `slot` is null for a connection over a cap: it gets a 503 and is closed.
  HttpSession(tcp::socket&& socket, std::shared_ptr<HttpServer::Impl> server,
              std::shared_ptr<ConnectionSlot> slot, std::string remote_ip)
      : stream_(std::move(socket)),
        server_(std::move(server)),
        slot_(std::move(slot)),
        timer_(stream_.get_executor()),
        remote_ip_(std::move(remote_ip)) {}
  ~HttpSession() { server_->Unregister(this); }

  void Run() {
    server_->Register(this, weak_from_this());
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&HttpSession::Begin, shared_from_this()));
  }

  // Shutdown: close now unless an answer is being written.
  void Abort() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_) {
        self->Disarm();
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.socket().close(ec);
      }
    });
  }

 private:
  enum class Phase { kIdle, kHeader, kBody, kOther };

  void Begin() {
    if (!slot_) {
      // Over a connection cap: a short answer, then the socket goes. Lingering here would let a
      // flood hold descriptors, so this one waits at most briefly.
      spdlog::warn("http connection from {} refused: too many connections (max {} in all, {} "
                   "per client address)",
                   remote_ip_, server_->opt.max_connections, server_->opt.max_connections_per_ip);
      server_->Rejected("too_many_connections");
      keep_alive_ = false;
      linger_ = std::chrono::milliseconds(200);
      HttpResponse r = NativeError({503, "too_many_connections",
                                    "too many open connections from this address or in all; "
                                    "retry later",
                                    ""});
      r.SetHeader("Retry-After", "1");
      busy_ = true;
      server_->in_flight++;
      return Write(std::move(r));
    }
    DoRead();
  }

  // One timer for every phase of a request. A generation number tells a stale expiry (queued
  // just before the read it guarded completed) from a live one.
  void Arm(Phase phase, std::chrono::milliseconds after) {
    phase_ = phase;
    timed_out_ = false;
    uint64_t gen = ++timer_gen_;
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
      if (ec || gen != self->timer_gen_) {
        return;
      }
      self->timed_out_ = true;
      // Cancel, not close: the socket must stay open so the 408 can still be written.
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
  }
  void Disarm() {
    ++timer_gen_;
    phase_ = Phase::kOther;
    timer_.cancel();
  }

  void DoRead() {
    if (closing_) {
      return DoClose();
    }
    parser_.emplace();
    parser_->body_limit(server_->opt.max_body_bytes);
    parser_->header_limit(16 * 1024);
    stream_.expires_never();  // our own timer (Arm) bounds every phase
    if (buffer_.size() > 0) {
      return ReadHeader();  // a pipelined request has begun already
    }
    // Waiting for the next request's first byte: the idle limit (for the first request, the
    // header limit: a connection that never speaks is a slowloris too).
    Arm(Phase::kIdle, first_ ? server_->opt.header_timeout : server_->opt.idle_timeout);
    stream_.socket().async_wait(tcp::socket::wait_read,
                                beast::bind_front_handler(&HttpSession::OnReadable,
                                                          shared_from_this()));
  }

  void OnReadable(beast::error_code ec) {
    if (ec || timed_out_) {
      Disarm();
      return DoClose();  // idle or gone: nothing was asked, nothing to answer
    }
    ReadHeader();
  }

  void ReadHeader() {
    // From the first byte of every request, not only the first on a connection: a client that
    // trickles its headers gets header_timeout, then a 408.
    Arm(Phase::kHeader, server_->opt.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&HttpSession::OnHeader,
                                                      shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    bool timed_out = timed_out_;
    Disarm();
    if (HandleReadError(ec, timed_out)) {
      return;
    }
    if (parser_->is_done()) {
      return OnRequest();
    }
    Arm(Phase::kBody, server_->opt.body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, std::size_t) {
    bool timed_out = timed_out_;
    Disarm();
    if (HandleReadError(ec, timed_out)) {
      return;
    }
    OnRequest();
  }

  // Returns true when the read failed and the failure was handled.
  bool HandleReadError(beast::error_code ec, bool timed_out) {
    if (timed_out) {
      server_->Rejected("request_timeout");
      keep_alive_ = false;
      WriteError(408, "request_timeout", "the request did not arrive in time");
      return true;
    }
    if (!ec) {
      return false;
    }
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted) {
      DoClose();
      return true;
    }
    if (ec == http::error::body_limit) {
      server_->Rejected("payload_too_large");
      keep_alive_ = false;
      WriteError(413, "payload_too_large",
                 "the request body is larger than " +
                     std::to_string(server_->opt.max_body_bytes) + " bytes");
      return true;
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
      keep_alive_ = false;
      WriteError(400, "invalid_argument", "malformed HTTP request: " + ec.message());
      return true;
    }
    DoClose();
    return true;
  }

  void OnRequest() {
    first_ = false;
    http::request<http::string_body> req = parser_->release();
    if (websocket::is_upgrade(req)) {
      return Upgrade(std::move(req));
    }
    bool ok = false;
    HttpRequest hr = Convert(req, remote_ip_, &ok);
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == http::verb::head;
    if (!ok) {
      keep_alive_ = false;
      return WriteError(400, "invalid_argument", "malformed request target");
    }
    busy_ = true;
    server_->in_flight++;
    auto self = shared_from_this();
    // No timer while the handler runs: a run-and-wait answer may take as long as the run.
    server_->router->Handle(hr, [self](HttpResponse r) {
      net::post(self->stream_.get_executor(),
                [self, r = std::move(r)]() mutable { self->Write(std::move(r)); });
    });
  }

  void Upgrade(http::request<http::string_body> req) {
    bool ok = false;
    HttpRequest hr = Convert(req, remote_ip_, &ok);
    HttpResponse refusal;
    std::shared_ptr<WsHandler> handler;
    if (ok) {
      handler = server_->router->AcceptWebSocket(hr, &refusal);
    } else {
      refusal = NativeError({400, "invalid_argument", "malformed request target", ""});
    }
    if (!handler) {
      keep_alive_ = false;
      version_ = req.version();
      busy_ = true;
      server_->in_flight++;
      return Write(std::move(refusal));
    }
    stream_.expires_never();
    auto ws = std::make_shared<WsSession>(stream_.release_socket(), server_, std::move(handler),
                                          std::move(slot_));
    ws->Start(std::move(req));
  }

  // Errors found before a request reaches the router (it logs everything else).
  void WriteError(int status, const std::string& code, const std::string& message) {
    spdlog::info("http - - {} ({}) ip={}", status, message, remote_ip_);
    busy_ = true;
    server_->in_flight++;
    Write(NativeError({status, code, message, ""}));
  }

  void Write(HttpResponse r) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version_ ? version_ : 11);
    res->set(http::field::server, "runbox");
    if (!r.content_type.empty()) {
      res->set(http::field::content_type, r.content_type);
    }
    for (const auto& [name, value] : r.headers) {
      res->set(name, value);
    }
    res->keep_alive(keep_alive_ && !closing_ && !server_->stopping);
    if (head_) {
      res->content_length(r.body.size());
    } else {
      res->body() = std::move(r.body);
      res->prepare_payload();
    }
    res_ = res;
    stream_.expires_after(server_->opt.write_timeout);
    http::async_write(stream_, *res,
                      beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this(),
                                                res->need_eof()));
  }

  void OnWrite(bool close, beast::error_code ec, std::size_t) {
    busy_ = false;
    server_->in_flight--;
    res_.reset();
    stream_.expires_never();
    if (ec) {
      return;  // the client is gone or stopped reading: drop the connection
    }
    if (close || closing_) {
      return DoClose();
    }
    DoRead();
  }

  // A lingering close (RFC 9112 §9.6): shut down the send side, then read and discard what the
  // client still sends (the rest of a body we refused) until it closes, for at most linger_ and
  // kLingerBytes. Closing with unread data would make the kernel send a reset, which can destroy
  // the answer before the client reads it.
  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec || closing_) {
      return;
    }
    lingered_ = 0;
    uint64_t gen = ++timer_gen_;
    timer_.expires_after(linger_);
    timer_.async_wait([self = shared_from_this(), gen](beast::error_code e) {
      if (!e && gen == self->timer_gen_) {
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
      }
    });
    Drain();
  }

  void Drain() {
    drain_.resize(16 * 1024);
    stream_.socket().async_read_some(
        net::buffer(drain_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          self->lingered_ += n;
          if (ec || self->lingered_ > kLingerBytes) {
            self->Disarm();
            beast::error_code ignored;
            self->stream_.socket().close(ignored);
            return;
          }
          self->Drain();
        });
  }

  static constexpr uint64_t kLingerBytes = 64ull << 20;

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<HttpServer::Impl> server_;
  std::shared_ptr<ConnectionSlot> slot_;
  net::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  Phase phase_ = Phase::kOther;
  bool timed_out_ = false;
  std::chrono::milliseconds linger_{2000};
  uint64_t lingered_ = 0;
  std::vector<char> drain_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  std::string remote_ip_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  bool first_ = true;
  bool busy_ = false;
  bool closing_ = false;
};

// ---------------------------------------------------------------------------------------------

class PutClient : public std::enable_shared_from_this<PutClient> {
 public:
  explicit PutClient(net::io_context& ioc)
      : resolver_(net::make_strand(ioc)), stream_(net::make_strand(ioc)) {}

  void Run(const HttpUrl& url, const std::string& body) {
    url_ = RedactUrl(url.scheme + "://" + url.HostPort() + url.target);
    // Built from the parsed parts only: ParseHttpUrl refused every control byte, so neither the
    // target nor the Host header can end a line.
    req_.method(http::verb::put);
    req_.target(url.target);
    req_.version(11);
    req_.set(http::field::host, url.HostPort());
    req_.set(http::field::user_agent, "runbox");
    req_.set(http::field::content_type, "application/json");
    req_.set(http::field::connection, "close");
    req_.body() = body;
    req_.prepare_payload();
    res_.body_limit(64 * 1024);  // the answer is only logged
    // Resolved once, here; the connection goes to exactly these addresses and nothing resolves
    // the name again, so DNS cannot answer the check one way and the connect another.
    resolver_.async_resolve(url.host, std::to_string(url.port),
                            tcp::resolver::numeric_service,
                            beast::bind_front_handler(&PutClient::OnResolve, shared_from_this()));
  }

 private:
  void OnResolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) {
      return Fail("resolve", ec);
    }
    std::vector<tcp::endpoint> endpoints;
    for (const auto& r : results) {
      // 0.0.0.0 and :: connect to the local host on Linux: never a callback's destination.
      if (!r.endpoint().address().is_unspecified() && !r.endpoint().address().is_multicast()) {
        endpoints.push_back(r.endpoint());
      }
    }
    if (endpoints.empty()) {
      spdlog::warn("callback PUT {} failed: no usable address", url_);
      return;
    }
    stream_.expires_after(std::chrono::seconds(5));
    stream_.async_connect(endpoints,
                          beast::bind_front_handler(&PutClient::OnConnect, shared_from_this()));
  }
  void OnConnect(beast::error_code ec, const tcp::endpoint&) {
    if (ec) {
      return Fail("connect", ec);
    }
    stream_.expires_after(std::chrono::seconds(5));
    http::async_write(stream_, req_,
                      beast::bind_front_handler(&PutClient::OnWrite, shared_from_this()));
  }
  void OnWrite(beast::error_code ec, std::size_t) {
    if (ec) {
      return Fail("write", ec);
    }
    http::async_read(stream_, buffer_, res_,
                     beast::bind_front_handler(&PutClient::OnRead, shared_from_this()));
  }
  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) {
      return Fail("read", ec);
    }
    spdlog::info("callback PUT {} -> {}", url_, res_.get().result_int());
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
  void Fail(const char* what, beast::error_code ec) {
    spdlog::warn("callback PUT {} failed at {}: {}", url_, what, ec.message());
  }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response_parser<http::string_body> res_;
  std::string url_;
};

// ---------------------------------------------------------------------------------------------

void HttpServer::Impl::OnAcceptError(const beast::error_code& ec) {
  // EMFILE, ENFILE, ENOBUFS: the pending connection stays in the backlog, so an immediate retry
  // fails again at once (6.8 million log lines in 20 s, issue 12). Back off, log once.
  if (accept_failures++ == 0) {
    spdlog::warn("accept: {}; retrying with back-off (10 ms doubling to 1 s); logged once until "
                 "accepting works again",
                 ec.message());
  }
  accept_backoff = accept_backoff.count() == 0
                       ? std::chrono::milliseconds(10)
                       : std::min(accept_backoff * 2, std::chrono::milliseconds(1000));
  accept_timer.expires_after(accept_backoff);
  accept_timer.async_wait([self = shared_from_this()](beast::error_code e) {
    if (!e && !self->stopping) {
      self->DoAccept();
    }
  });
}

void HttpServer::Impl::DoAccept() {
  acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](
                                                   beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec != net::error::operation_aborted && !self->stopping) {
        self->OnAcceptError(ec);
      }
      return;
    }
    if (self->accept_failures > 0) {
      spdlog::info("accept: working again after {} failed attempt(s)", self->accept_failures);
      self->accept_failures = 0;
      self->accept_backoff = std::chrono::milliseconds(0);
    }
    beast::error_code rec;
    auto ep = socket.remote_endpoint(rec);
    std::string ip = rec ? "?" : ep.address().to_string();
    std::shared_ptr<ConnectionSlot> slot;
    if (self->TakeSlot(ip)) {
      slot = std::make_shared<ConnectionSlot>(self, ip);
    }
    std::make_shared<HttpSession>(std::move(socket), self, std::move(slot), ip)->Run();
    self->DoAccept();
  });
}

HttpServer::HttpServer(const Router* router, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(router, std::move(options))) {}

HttpServer::~HttpServer() { Stop(std::chrono::milliseconds(0)); }

Result<uint16_t> HttpServer::Start() {
  Impl& s = *impl_;
  beast::error_code ec;
  tcp::resolver resolver(s.ioc);
  auto results = resolver.resolve(s.opt.host, std::to_string(s.opt.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "listen address " + s.opt.host + ": " + (ec ? ec.message() : "not found"));
  }
  tcp::endpoint ep = results.begin()->endpoint();
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) {
    s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    s.acceptor.bind(ep, ec);
  }
  if (!ec) {
    s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    ErrorCode code = ec == net::error::address_in_use ? ErrorCode::kUnavailable
                     : ec == net::error::access_denied ? ErrorCode::kPermissionDenied
                                                       : ErrorCode::kInternal;
    return MakeError(code, "listen on " + s.opt.host + ":" + std::to_string(s.opt.port) + ": " +
                               ec.message());
  }
  uint16_t port = s.acceptor.local_endpoint().port();
  s.work.emplace(s.ioc.get_executor());
  s.DoAccept();
  int n = s.opt.threads < 1 ? 1 : s.opt.threads;
  for (int i = 0; i < n; ++i) {
    s.threads.emplace_back([impl = impl_] { impl->ioc.run(); });
  }
  return port;
}

void HttpServer::StopAccepting() {
  impl_->stopping = true;
  net::post(impl_->acceptor.get_executor(), [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_timer.cancel();
  });
}

void HttpServer::CloseWebSockets() {
  std::vector<std::shared_ptr<WsSession>> ws;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& [k, w] : impl_->ws_sessions) {
      if (auto s = w.lock()) {
        ws.push_back(s);
      }
    }
  }
  for (auto& s : ws) {
    s->Close(1001, "server shutting down");
  }
}

void HttpServer::Stop(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  if (s.threads.empty()) {
    return;
  }
  StopAccepting();
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (s.in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<std::shared_ptr<HttpSession>> https;
  std::vector<std::shared_ptr<WsSession>> wss;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto& [k, w] : s.http_sessions) {
      if (auto p = w.lock()) {
        https.push_back(p);
      }
    }
    for (auto& [k, w] : s.ws_sessions) {
      if (auto p = w.lock()) {
        wss.push_back(p);
      }
    }
  }
  for (auto& h : https) {
    h->Abort();
  }
  for (auto& w : wss) {
    w->Abort();
  }
  https.clear();
  wss.clear();
  // Let the closes go out, then stop.
  std::this_thread::sleep_for(std::chrono::milliseconds(grace.count() > 0 ? 100 : 0));
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.threads) {
    t.join();
  }
  s.threads.clear();
}

void HttpServer::Put(const std::string& url, const std::string& body) {
  auto parsed = ParseHttpUrl(url);
  if (!parsed) {
    spdlog::warn("callback {} refused: {}", RedactUrl(url), parsed.error().message);
    return;
  }
  if (parsed->scheme != "http") {
    spdlog::warn("callback {} refused: only http:// is supported", RedactUrl(url));
    return;
  }
  // Checked by the API before, and here again on the same parsed parts: the sender never goes
  // anywhere the allowlist does not name.
  if (!CallbackAllowlisted(impl_->opt.callback_allowlist, *parsed)) {
    spdlog::warn("callback {} refused: not on the callback allowlist", RedactUrl(url));
    return;
  }
  std::make_shared<PutClient>(impl_->ioc)->Run(*parsed, body);
}

size_t HttpServer::connections() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connections;
}

}  // namespace runbox::server
