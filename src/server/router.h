#pragma once
// Router: what happens to every HTTP request before and after its handler, in one place:
// Host check against DNS rebinding (421), cross-site checks on unsafe methods and WebSocket
// upgrades (Origin: 403; JSON endpoints refuse the body types a cross-site form can send: 415),
// body-size check (413), CORS (preflight and headers), API keys (401 missing, 403 unknown; keys
// configured means keys required unless allow_anonymous), secrets masked in the access log,
// per-key and per-IP token buckets (429 with Retry-After), dispatch by method and path pattern
// (404/405), the exception boundary (anything a third-party parser throws becomes a 500), one log
// line and the metrics of each request. Errors are rendered in the style of the API the route
// belongs to, so Piston, Judge0 and paiza.IO clients read errors they understand.
//
// Thread-safety: after setup (Add*), Handle() and AcceptWebSocket() may run on any thread.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/codec.h"
#include "server/config.h"
#include "server/http_types.h"
#include "server/metrics.h"
#include "server/rate_limiter.h"
#include "server/ws.h"

namespace runbox::server {

enum class ApiStyle {
  kNative,  // {"error": {"code", "message", "field"}}
  kPiston,  // {"message": "..."}
  kJudge0,  // {"error": "..."}
  kPaiza,   // {"error": "..."}
  kPlain,   // text/plain (static files, health, metrics)
};

HttpResponse StyledError(ApiStyle style, const ApiError& error);

using PathParams = std::map<std::string, std::string>;
using Handler = std::function<void(const HttpRequest&, const PathParams&, Respond)>;
using WsFactory = std::function<std::shared_ptr<WsHandler>(const HttpRequest&, const PathParams&)>;

class Router {
 public:
  Router(const ServerConfig& config, Metrics* metrics);

  // pattern: "/api/v1/jobs/{id}"; {name} matches one path segment. Routes added first win.
  // public routes skip API keys and rate limits (health, metrics, the page, the OpenAPI doc).
  void Add(const std::string& method, const std::string& pattern, ApiStyle style, Handler handler,
           bool public_route = false);
  void AddWebSocket(const std::string& pattern, ApiStyle style, WsFactory factory);
  // Serves GET/HEAD requests no route matched (the static page). Without it they are 404.
  void SetFallback(Handler handler) { fallback_ = std::move(handler); }

  // Answers exactly once through `respond`, possibly later and on another thread.
  void Handle(const HttpRequest& request, Respond respond) const;

  // For a WebSocket upgrade request: the handler, or nullptr with `refusal` set (404, 401, 403,
  // 429).
  std::shared_ptr<WsHandler> AcceptWebSocket(const HttpRequest& request,
                                             HttpResponse* refusal) const;

  // "GET /api/v1/jobs/{id}" for every route, in order (the OpenAPI cross-check test uses it).
  std::vector<std::string> Describe() const;

  struct Auth {
    bool ok = true;
    std::string client;  // key name, or "ip:<addr>" when anonymous
    ApiError error;
    double retry_after = 0;
  };
  Auth Authorize(const HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    ApiStyle style;
    bool public_route;
    Handler handler;
    WsFactory ws_factory;
  };
  static bool Match(const Route& route, const std::vector<std::string>& segments,
                    PathParams* params);
  void AddCors(const std::string& origin, HttpResponse* response) const;
  // Cross-site protections (issue 12), each false with `error` set when refused:
  // the Host header names this server (DNS rebinding; 421);
  bool HostAllowed(const HttpRequest& request, ApiError* error) const;
  // Origin is absent (not a browser), same-origin, or in cors_origins (403);
  bool OriginAllowed(const HttpRequest& request, ApiError* error) const;
  // for unsafe methods: OriginAllowed, and a body type a cross-site form could send only where
  // the API documents it (415).
  bool CrossSiteAllowed(const HttpRequest& request, ApiStyle style, ApiError* error) const;
  std::string ApiKeyOf(const HttpRequest& request) const;

  const ServerConfig& config_;
  Metrics* metrics_;
  mutable RateLimiter limiter_;
  std::vector<Route> routes_;
  std::vector<Route> ws_routes_;
  Handler fallback_;
};

std::vector<std::string> SplitPath(const std::string& path);

}  // namespace runbox::server
