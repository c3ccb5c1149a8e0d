#include "server/router.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>

#include "server/url.h"

namespace runbox::server {
namespace {

const char* StyleName(ApiStyle s) {
  switch (s) {
    case ApiStyle::kNative: return "v1";
    case ApiStyle::kPiston: return "piston";
    case ApiStyle::kJudge0: return "judge0";
    case ApiStyle::kPaiza: return "paiza";
    case ApiStyle::kPlain: return "other";
  }
  return "other";
}

// Constant-time comparison, so response timing does not leak how much of a key matched.
bool SameKey(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0 ||
         (host.size() > 10 && host.compare(host.size() - 10, 10, ".localhost") == 0);
}

// Unsafe methods: the ones a cross-site page can send with side effects.
bool IsUnsafeMethod(const std::string& m) {
  return m != "GET" && m != "HEAD" && m != "OPTIONS";
}

// The body types a browser sends cross-site without a CORS preflight (Fetch standard,
// "CORS-safelisted request-header"); an empty Content-Type with a body is one too (a Blob).
bool IsSimpleBodyType(const std::string& media_type) {
  return media_type.empty() || media_type == "text/plain" ||
         media_type == "application/x-www-form-urlencoded" ||
         media_type == "multipart/form-data";
}

// Where the APIs' own clients legitimately send a simple body type: piston-client posts JSON as
// text/plain (node-fetch's default); Judge0 (Rails) and paiza.IO document form bodies. Nowhere
// does runbox take multipart. Everything else takes JSON only.
bool SimpleBodyTypeDocumented(ApiStyle style, const std::string& path, const std::string& type) {
  switch (style) {
    case ApiStyle::kPiston: return path == "/api/v2/execute" && type == "text/plain";
    case ApiStyle::kJudge0:
      return type == "application/x-www-form-urlencoded" && path.rfind("/submissions", 0) == 0;
    case ApiStyle::kPaiza:
      return type == "application/x-www-form-urlencoded" && path.rfind("/runners/", 0) == 0;
    default: return false;
  }
}

}  // namespace

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) {
      slash = path.size();
    }
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  // "/a/" -> ["a", ""]: keep the trailing empty segment so "/a/" does not match "/a".
  return out;
}

HttpResponse StyledError(ApiStyle style, const ApiError& e) {
  switch (style) {
    case ApiStyle::kNative: return NativeError(e);
    case ApiStyle::kPiston: return JsonResponse(e.status, json{{"message", e.message}});
    case ApiStyle::kJudge0:
    case ApiStyle::kPaiza: return JsonResponse(e.status, json{{"error", e.message}});
    case ApiStyle::kPlain: {
      HttpResponse r;
      r.status = e.status;
      r.content_type = "text/plain; charset=utf-8";
      r.body = e.message + "\n";
      return r;
    }
  }
  return NativeError(e);
}

Router::Router(const ServerConfig& config, Metrics* metrics) : config_(config), metrics_(metrics) {}

void Router::Add(const std::string& method, const std::string& pattern, ApiStyle style,
                 Handler handler, bool public_route) {
  routes_.push_back(
      {method, pattern, SplitPath(pattern), style, public_route, std::move(handler), nullptr});
}

void Router::AddWebSocket(const std::string& pattern, ApiStyle style, WsFactory factory) {
  ws_routes_.push_back({"GET", pattern, SplitPath(pattern), style, false, nullptr,
                        std::move(factory)});
}

std::vector<std::string> Router::Describe() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) {
    out.push_back(r.method + " " + r.pattern);
  }
  for (const auto& r : ws_routes_) {
    out.push_back("GET " + r.pattern);
  }
  return out;
}

bool Router::Match(const Route& route, const std::vector<std::string>& segments,
                   PathParams* params) {
  if (route.segments.size() != segments.size()) {
    return false;
  }
  PathParams p;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (segments[i].empty()) {
        return false;
      }
      p[want.substr(1, want.size() - 2)] = segments[i];
    } else if (want != segments[i]) {
      return false;
    }
  }
  *params = std::move(p);
  return true;
}

std::string Router::ApiKeyOf(const HttpRequest& req) const {
  for (const char* h : {"x-api-key", "x-auth-token", "x-rapidapi-key"}) {
    std::string v = req.Header(h);
    if (!v.empty()) {
      return v;
    }
  }
  std::string auth = req.Header("authorization");
  if (!auth.empty()) {
    if (ToLower(auth.substr(0, 7)) == "bearer ") {
      return auth.substr(7);
    }
    return auth;
  }
  if (req.HasQuery("api_key")) {
    return req.Query("api_key");
  }
  if (req.MediaType() == "application/x-www-form-urlencoded") {
    std::map<std::string, std::string> form;
    if (ParseForm(req.body, &form) && form.count("api_key")) {
      return form["api_key"];
    }
  }
  return "";
}

Router::Auth Router::Authorize(const HttpRequest& req) const {
  Auth auth;
  std::string key = ApiKeyOf(req);
  const ApiKey* matched = nullptr;
  if (!key.empty() && !config_.api_keys.empty()) {
    for (const auto& k : config_.api_keys) {
      if (SameKey(k.key, key)) {
        matched = &k;
      }
    }
    if (!matched) {
      metrics_->RecordRejected("unauthorized");
      auth.ok = false;
      auth.error = {403, "forbidden", "the API key is not valid", ""};
      return auth;
    }
  }
  if (!matched && config_.keys_required()) {
    metrics_->RecordRejected("unauthorized");
    auth.ok = false;
    auth.error = {401, "unauthorized",
                  "an API key is required: send it as X-API-Key or Authorization: Bearer", ""};
    return auth;
  }
  RateLimiter::Decision d;
  if (matched) {
    auth.client = matched->name;
    d = limiter_.Take("key:" + matched->name, matched->rate_per_second, matched->burst);
  } else {
    auth.client = "ip:" + req.remote_ip;
    d = limiter_.Take(auth.client, config_.anonymous_rate, config_.anonymous_burst);
  }
  if (!d.allowed) {
    metrics_->RecordRejected("rate_limited");
    auth.ok = false;
    auth.retry_after = d.retry_after_seconds;
    auth.error = {429, "rate_limited", "too many requests; retry later", ""};
  }
  return auth;
}

bool Router::HostAllowed(const HttpRequest& req, ApiError* error) const {
  std::string host_header = req.Header("host");
  std::string listen_host;
  uint16_t listen_port = 0;
  std::string bound = config_.host();
  if (bound.find(':') != std::string::npos) {
    bound = "[" + bound + "]";
  }
  (void)SplitHostPort(bound, &listen_host, &listen_port);
  // DNS rebinding: a page on attacker.example re-points its name to 127.0.0.1 and reads a local
  // server's answers as same-origin; its requests still say "Host: attacker.example". A server
  // on loopback therefore answers only names that mean this machine, plus allowed_hosts. A
  // server on another address is meant to be reached by names nobody can list in advance, so
  // there the check applies only when allowed_hosts is set.
  bool loopback = IsLoopbackHost(listen_host);
  if (!loopback && config_.allowed_hosts.empty()) {
    return true;
  }
  if (host_header.empty()) {
    return true;  // HTTP/1.0 without Host: not a browser (every browser sends Host)
  }
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(host_header, &host, &port)) {
    *error = {400, "invalid_argument", "malformed Host header", "host"};
    return false;
  }
  if (host == "localhost" || host == "127.0.0.1" || host == "::1" || host == listen_host) {
    return true;
  }
  for (const auto& allowed : config_.allowed_hosts) {
    std::string a;
    uint16_t ap = 0;
    if (SplitHostPort(allowed, &a, &ap) && a == host) {
      return true;
    }
  }
  *error = {421, "misdirected_request",
            "Host '" + host + "' is not a name of this server; add it to allowed_hosts "
            "(--allowed-host) if it is",
            "host"};
  return false;
}

bool Router::OriginAllowed(const HttpRequest& req, ApiError* error) const {
  auto it = req.headers.find("origin");
  if (it == req.headers.end()) {
    return true;  // not sent by a browser: browsers send Origin on cross-site requests
  }
  const std::string& origin = it->second;
  for (const auto& o : config_.cors_origins) {
    if (o == "*" || o == origin) {
      return true;
    }
  }
  // Same origin: the page was served by this server under the name the request uses.
  auto parsed = ParseHttpUrl(origin);
  std::string host;
  uint16_t port = 0;
  if (parsed && parsed->target == "/" &&
      SplitHostPort(req.Header("host"), &host, &port)) {
    uint16_t want = port ? port : static_cast<uint16_t>(80);
    if (parsed->host == host && parsed->port == want && parsed->scheme == "http") {
      return true;
    }
  }
  *error = {403, "forbidden",
            "cross-site request refused: Origin '" + origin.substr(0, 200) +
                "' is not this server and not in cors_origins",
            "origin"};
  return false;
}

bool Router::CrossSiteAllowed(const HttpRequest& req, ApiStyle style, ApiError* error) const {
  if (!OriginAllowed(req, error)) {
    return false;
  }
  if (req.body.empty()) {
    return true;
  }
  // A page on another site can POST text/plain or a form without a preflight; an old browser
  // may even leave out Origin. So where an endpoint takes JSON, those types are refused; where
  // an API documents them they are taken only from a non-browser client (no Origin) or an
  // allowed one (checked above).
  std::string type = req.MediaType();
  if (!IsSimpleBodyType(type)) {
    return true;
  }
  if (SimpleBodyTypeDocumented(style, req.path, type)) {
    return true;
  }
  *error = {415, "unsupported_media_type",
            "Content-Type '" + (type.empty() ? std::string("(none)") : type) +
                "' is not accepted here; send the body as application/json",
            "content-type"};
  return false;
}

void Router::AddCors(const std::string& origin, HttpResponse* resp) const {
  if (origin.empty() || config_.cors_origins.empty()) {
    return;
  }
  bool any = false;
  bool listed = false;
  for (const auto& o : config_.cors_origins) {
    any = any || o == "*";
    listed = listed || o == origin;
  }
  if (!any && !listed) {
    return;
  }
  resp->SetHeader("Access-Control-Allow-Origin", listed ? origin : "*");
  resp->SetHeader("Vary", "Origin");
  resp->SetHeader("Access-Control-Expose-Headers", "Retry-After");
}

void Router::Handle(const HttpRequest& req, Respond respond) const {
  auto started = std::chrono::steady_clock::now();
  // Filled in once the route is known, read when the answer goes out.
  auto log = std::make_shared<std::pair<ApiStyle, std::string>>(ApiStyle::kPlain, "-");
  std::shared_ptr<std::once_flag> once = std::make_shared<std::once_flag>();
  // Secrets in the target (paiza's ?api_key=, tokens) never reach the log.
  Respond finish = [this, req_method = req.method, req_target = RedactTarget(req.target),
                    ip = req.remote_ip, origin = req.Header("origin"), started, log, once,
                    respond = std::move(respond)](HttpResponse resp) {
    bool first = false;
    std::call_once(*once, [&] { first = true; });
    if (!first) {
      spdlog::error("http {} {}: a handler answered twice; the second answer is dropped",
                    req_method, req_target);
      return;
    }
    AddCors(origin, &resp);
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics_->RecordRequest(StyleName(log->first), resp.status, secs);
    if (resp.status == 507) {
      // Wherever it came from (a submission, a snippet): the disk is full.
      metrics_->RecordRejected("storage_full");
    }
    spdlog::info("http {} {} {} {}B {:.1f}ms api={} client={} ip={}", req_method, req_target,
                 resp.status, resp.body.size(), secs * 1000, StyleName(log->first), log->second,
                 ip);
    respond(std::move(resp));
  };

  std::vector<std::string> segments = SplitPath(req.path);
  const Route* route = nullptr;
  PathParams params;
  bool path_known = false;
  for (const auto& r : routes_) {
    PathParams p;
    if (Match(r, segments, &p)) {
      path_known = true;
      if (r.method == req.method || (req.method == "HEAD" && r.method == "GET")) {
        route = &r;
        params = std::move(p);
        break;
      }
    }
  }
  if (!path_known) {
    for (const auto& r : ws_routes_) {
      PathParams p;
      path_known = path_known || Match(r, segments, &p);
    }
  }

  {
    ApiError refused;
    if (!HostAllowed(req, &refused)) {
      metrics_->RecordRejected(refused.status == 421 ? "misdirected_request" : "bad_request");
      finish(StyledError(ApiStyle::kPlain, refused));
      return;
    }
  }

  if (req.method == "OPTIONS") {
    HttpResponse resp;
    resp.status = 204;
    resp.content_type.clear();
    if (!req.Header("origin").empty() && !config_.cors_origins.empty()) {
      resp.SetHeader("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
      resp.SetHeader("Access-Control-Allow-Headers",
                     "Content-Type, Authorization, X-API-Key, X-Auth-Token");
      resp.SetHeader("Access-Control-Max-Age", "600");
    }
    resp.SetHeader("Allow", "GET, POST, OPTIONS");
    finish(std::move(resp));
    return;
  }

  ApiStyle style = route ? route->style : ApiStyle::kNative;
  if (!route && req.path.rfind("/api/v2/", 0) == 0) {
    style = ApiStyle::kPiston;
  } else if (!route && (req.path.rfind("/submissions", 0) == 0 ||
                        req.path.rfind("/languages", 0) == 0)) {
    style = ApiStyle::kJudge0;
  } else if (!route && req.path.rfind("/runners/", 0) == 0) {
    style = ApiStyle::kPaiza;
  }
  log->first = style;

  if (IsUnsafeMethod(req.method)) {
    ApiError refused;
    if (!CrossSiteAllowed(req, style, &refused)) {
      metrics_->RecordRejected(refused.status == 415 ? "unsupported_media_type" : "cross_site");
      finish(StyledError(style, refused));
      return;
    }
  }

  if (req.body.size() > config_.max_body_bytes) {
    metrics_->RecordRejected("payload_too_large");
    finish(StyledError(style, {413, "payload_too_large",
                               "the request body is larger than " +
                                   std::to_string(config_.max_body_bytes) + " bytes",
                               ""}));
    return;
  }

  if (!route) {
    bool api_path = req.path.rfind("/api/", 0) == 0 || style != ApiStyle::kNative;
    if (path_known) {
      HttpResponse r = StyledError(style, {405, "method_not_allowed",
                                           "method " + req.method + " is not allowed here", ""});
      finish(std::move(r));
      return;
    }
    if (fallback_ && !api_path && (req.method == "GET" || req.method == "HEAD")) {
      try {
        fallback_(req, {}, finish);
      } catch (const std::exception& e) {
        finish(StyledError(ApiStyle::kPlain, {500, "internal", "internal error", ""}));
      }
      return;
    }
    finish(StyledError(style, NotFoundError("no such endpoint: " + req.method + " " + req.path)));
    return;
  }

  if (!route->public_route) {
    Auth auth = Authorize(req);
    log->second = auth.client;
    if (!auth.ok) {
      HttpResponse r = StyledError(style, auth.error);
      if (auth.error.status == 429) {
        r.SetHeader("Retry-After",
                    std::to_string(static_cast<int>(std::ceil(auth.retry_after))));
      }
      if (auth.error.status == 401) {
        r.SetHeader("WWW-Authenticate", "Bearer");
      }
      finish(std::move(r));
      return;
    }
  }

  // The exception boundary (STYLE.md §3): a throw from a third-party parser inside a handler
  // becomes a 500 and a log line, never a dead connection or a crashed server.
  try {
    route->handler(req, params, finish);
  } catch (const std::exception& e) {
    spdlog::error("http {} {}: handler threw: {}", req.method, RedactTarget(req.target),
                  e.what());
    finish(StyledError(style, {500, "internal", "internal error", ""}));
  } catch (...) {
    spdlog::error("http {} {}: handler threw a non-exception", req.method,
                  RedactTarget(req.target));
    finish(StyledError(style, {500, "internal", "internal error", ""}));
  }
}

std::shared_ptr<WsHandler> Router::AcceptWebSocket(const HttpRequest& req,
                                                   HttpResponse* refusal) const {
  std::vector<std::string> segments = SplitPath(req.path);
  for (const auto& r : ws_routes_) {
    PathParams p;
    if (!Match(r, segments, &p)) {
      continue;
    }
    ApiError refused;
    if (!HostAllowed(req, &refused) || !OriginAllowed(req, &refused)) {
      // A WebSocket is not covered by CORS: without this, any page the user opens could drive
      // interactive runs on a local server and read their output.
      metrics_->RecordRejected("cross_site");
      spdlog::info("ws refused {} ip={}: {}", req.path, req.remote_ip, refused.message);
      *refusal = StyledError(r.style, refused);
      return nullptr;
    }
    Auth auth = Authorize(req);
    if (!auth.ok) {
      *refusal = StyledError(r.style, auth.error);
      if (auth.error.status == 429) {
        refusal->SetHeader("Retry-After",
                           std::to_string(static_cast<int>(std::ceil(auth.retry_after))));
      }
      return nullptr;
    }
    spdlog::info("ws open {} client={} ip={}", req.path, auth.client, req.remote_ip);
    try {
      return r.ws_factory(req, p);
    } catch (const std::exception& e) {
      spdlog::error("ws {}: factory threw: {}", req.path, e.what());
      *refusal = StyledError(r.style, {500, "internal", "internal error", ""});
      return nullptr;
    }
  }
  *refusal = StyledError(ApiStyle::kNative, NotFoundError("no WebSocket endpoint at " + req.path));
  return nullptr;
}

}  // namespace runbox::server
