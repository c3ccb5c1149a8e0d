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
  void Register(void* key, std::weak_ptr<HttpSession> s) {
    std::lock_guard<std::mutex> lock(mu);
    http_sessions[key] = std::move(s);
  }
  void Register(void* key, std::weak_ptr<WsSession> s) {
    std::lock_guard<std::mutex> lock(mu);
    ws_sessions[key] = std::move(s);
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
            std::shared_ptr<WsHandler> handler)
      : ws_(std::move(socket)), server_(std::move(server)), handler_(std::move(handler)) {}
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
    handler_->OnMessage(msg);
    DoRead();
  }

  void DoWrite() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&WsSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      queue_.clear();
      return;  // the read side sees the failure too and calls Finish
    }
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
    ws_.async_close(cr, [self = shared_from_this()](beast::error_code) {});
  }

  void Finish() {
    if (!gone_.exchange(true)) {
      handler_->OnClose();
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<HttpServer::Impl> server_;
  std::shared_ptr<WsHandler> handler_;
  std::deque<std::string> queue_;
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
  HttpSession(tcp::socket&& socket, std::shared_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    remote_ip_ = ec ? "?" : ep.address().to_string();
  }
  ~HttpSession() { server_->Unregister(this); }

  void Run() {
    server_->Register(this, weak_from_this());
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&HttpSession::DoRead, shared_from_this()));
  }

  // Shutdown: close now unless an answer is being written.
  void Abort() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.socket().close(ec);
      }
    });
  }

 private:
  void DoRead() {
    if (closing_) {
      return DoClose();
    }
    parser_.emplace();
    parser_->body_limit(server_->opt.max_body_bytes);
    parser_->header_limit(16 * 1024);
    // The whole request must arrive within the timeout: a slowloris client cannot keep a
    // connection by trickling bytes.
    stream_.expires_after(first_ ? server_->opt.header_timeout : server_->opt.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted) {
      return DoClose();
    }
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return WriteError(413, "payload_too_large",
                        "the request body is larger than " +
                            std::to_string(server_->opt.max_body_bytes) + " bytes");
    }
    if (ec == beast::error::timeout) {
      if (parser_ && parser_->got_some()) {
        keep_alive_ = false;
        return WriteError(408, "request_timeout", "the request did not arrive in time");
      }
      return DoClose();
    }
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
        keep_alive_ = false;
        return WriteError(400, "invalid_argument", "malformed HTTP request: " + ec.message());
      }
      return DoClose();
    }
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
    stream_.expires_never();  // a run-and-wait answer may take as long as the run
    busy_ = true;
    server_->in_flight++;
    auto self = shared_from_this();
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
    auto ws = std::make_shared<WsSession>(stream_.release_socket(), server_, std::move(handler));
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
    if (ec) {
      return DoClose();
    }
    if (close || closing_) {
      return DoClose();
    }
    DoRead();
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<HttpServer::Impl> server_;
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

  void Run(const std::string& host, const std::string& port, const std::string& target,
           const std::string& body) {
    url_ = "http://" + host + ":" + port + target;
    req_.method(http::verb::put);
    req_.target(target);
    req_.version(11);
    req_.set(http::field::host, host + ":" + port);
    req_.set(http::field::user_agent, "runbox");
    req_.set(http::field::content_type, "application/json");
    req_.body() = body;
    req_.prepare_payload();
    resolver_.async_resolve(host, port,
                            beast::bind_front_handler(&PutClient::OnResolve, shared_from_this()));
  }

 private:
  void OnResolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) {
      return Fail("resolve", ec);
    }
    stream_.expires_after(std::chrono::seconds(5));
    stream_.async_connect(results,
                          beast::bind_front_handler(&PutClient::OnConnect, shared_from_this()));
  }
  void OnConnect(beast::error_code ec, tcp::resolver::results_type::endpoint_type) {
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
    spdlog::info("callback PUT {} -> {}", url_, res_.result_int());
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
  http::response<http::string_body> res_;
  std::string url_;
};

// ---------------------------------------------------------------------------------------------

void HttpServer::Impl::DoAccept() {
  acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](
                                                   beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec != net::error::operation_aborted && !self->stopping) {
        spdlog::warn("accept: {}", ec.message());
        // EMFILE and friends: keep accepting rather than going deaf.
        self->DoAccept();
      }
      return;
    }
    std::make_shared<HttpSession>(std::move(socket), self)->Run();
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
  if (url.rfind("http://", 0) != 0) {
    spdlog::warn("callback {}: only http:// is supported", url);
    return;
  }
  std::string rest = url.substr(7);
  size_t slash = rest.find_first_of("/?");
  std::string hostport = rest.substr(0, slash);
  std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (target[0] == '?') {
    target = "/" + target;
  }
  std::string host = hostport;
  std::string port = "80";
  size_t colon = hostport.rfind(':');
  if (colon != std::string::npos && hostport.find(']') == std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  std::make_shared<PutClient>(impl_->ioc)->Run(host, port, target, body);
}

}  // namespace runbox::server
