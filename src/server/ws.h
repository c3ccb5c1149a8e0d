#pragma once
// The WebSocket seam: the Beast session (http_server.cc) implements WsConnection; the interactive
// run logic (interactive.cc) implements WsHandler and never sees a socket, so it is unit-tested
// with a fake connection.

#include <memory>
#include <string>

namespace runbox::server {

// One open WebSocket, as the handler sees it. Thread-safe: Send and Close may be called from any
// thread (an engine worker delivers program output). Text frames only.
class WsConnection {
 public:
  virtual ~WsConnection() = default;
  virtual void Send(std::string text) = 0;
  // Sends a close frame with `code` after the frames already queued; later Sends are dropped.
  virtual void Close(int code, std::string reason) = 0;
};

class WsHandler {
 public:
  virtual ~WsHandler() = default;
  // The handshake is done; the handler may keep `connection` for as long as it needs it.
  virtual void OnOpen(std::shared_ptr<WsConnection> connection) = 0;
  // One complete text (or binary, passed as bytes) message from the client.
  virtual void OnMessage(const std::string& message) = 0;
  // The connection is gone (the client closed it, it failed, or the server shut down). Called
  // once; no OnMessage follows.
  virtual void OnClose() = 0;
};

}  // namespace runbox::server
