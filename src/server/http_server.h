#pragma once
// HttpServer: the only part of runbox that knows Beast. It accepts TCP connections, reads
// HTTP/1.1 requests under a body limit (413) and timeouts, upgrades WebSocket requests, and hands
// everything else to the Router as plain values.
//
// Greedy and slow clients (issue 12):
// - every request on a connection, not only the first, must send its headers within
//   header_timeout of its first byte and its body within body_timeout after that, else it gets a
//   408 that really reaches it; a keep-alive connection idle for idle_timeout is closed; a client
//   that does not read its answer within write_timeout is dropped;
// - a connection holds at most one answer: the next request (pipelined or not) is read and
//   parsed only after the previous answer is written, so a client that sends requests and never
//   reads answers holds one answer in memory, stalls in the socket buffers, and is dropped at
//   write_timeout;
// - a WebSocket holds at most kMaxQueuedSendBytes (8 MiB) of messages beyond the one being
//   written; past it the handler gets OnClose (an interactive run is killed), the queued
//   messages are dropped and the close frame is 1008 "output not read: ..."; a message or close
//   frame the client does not take within write_timeout drops the connection;
// - every refusal made here (408, 413, the connection caps, a WebSocket send overflow) is counted
//   in options.metrics, as runbox_rejected_total{reason};
// - at most max_connections connections in all and max_connections_per_ip from one address;
//   beyond them a connection gets a 503 and is closed;
// - an answer that ends a connection (413, 408, 400, Connection: close) is followed by a
//   lingering close: the send side is shut down and the rest of the request is read and
//   discarded for a bounded time, so the client reads the answer instead of a TCP reset;
// - when accept() fails (descriptors exhausted), accepting backs off from 10 ms doubling to 1 s
//   and logs once per episode instead of spinning.
//
// Thread-safety: Start/StopAccepting/Stop from one controlling thread; Put from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "server/router.h"

namespace runbox::server {

class Metrics;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port
  int threads = 2;
  uint64_t max_body_bytes = 4ull << 20;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds body_timeout{30000};
  size_t max_connections = 512;
  size_t max_connections_per_ip = 64;
  // host:port entries a callback PUT may go to (ServerConfig::callback_allowlist).
  std::vector<std::string> callback_allowlist;
  // Counts the refusals made here; may be null (then they are only logged). Not owned.
  Metrics* metrics = nullptr;
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
  // logged (Judge0 callbacks). Only http:// URLs on callback_allowlist: the URL is parsed once
  // (server/url.h), its host resolved once, and the request, built from the parsed parts, goes
  // to exactly the address that resolved.
  void Put(const std::string& url, const std::string& body);

  // Open connections now (HTTP and WebSocket), for tests.
  size_t connections() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace runbox::server
