#pragma once
// HttpServer: the only part of runbox that knows Boost.Beast. It accepts TCP connections, reads
// HTTP/1.1 requests under a body limit (413) and timeouts (a slow client cannot hold a connection
// open: the whole request must arrive within header_timeout, an idle keep-alive connection is
// closed after idle_timeout, a client that does not read its answer after write_timeout),
// upgrades WebSocket requests, and hands everything else to the Router as plain values.
//
// Thread-safety: Start/StopAccepting/Stop from one controlling thread; Put from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "server/router.h"

namespace runbox::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port
  int threads = 2;
  uint64_t max_body_bytes = 4ull << 20;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{30000};
};

class HttpServer {
 public:
  HttpServer(const Router* router, HttpServerOptions options);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the I/O threads. Returns the bound port (the chosen one for port 0).
  Result<uint16_t> Start();
  // Closes the listening socket; open connections continue.
  void StopAccepting();
  // Closes every WebSocket (their handlers see OnClose), so interactive runs end.
  void CloseWebSockets();
  // Waits up to `grace` for answers in flight to be written, then closes every connection and
  // joins the I/O threads.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  // Sends `PUT url` with a JSON body, asynchronously, at most 5 s, no redirects, result only
  // logged (Judge0 callbacks). Only http:// URLs.
  void Put(const std::string& url, const std::string& body);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace runbox::server
