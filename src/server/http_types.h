#pragma once
// Plain HTTP request/response values that handlers see. Only http_server.cc knows Beast; every
// handler takes an HttpRequest and answers through a Respond callback, so handlers are unit-tested
// without sockets (the split Beast's own example/http/server makes with handle_request()).

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace runbox::server {

struct HttpRequest {
  std::string method;   // "GET", "POST", ...
  std::string target;   // as sent: "/api/v1/jobs?ids=a,b"
  std::string path;     // percent-decoded path without the query: "/api/v1/jobs"
  std::map<std::string, std::string> query;    // decoded; the last value wins
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string remote_ip;

  // Header value or "" (name in any case).
  std::string Header(const std::string& name) const;
  // Query value or "".
  std::string Query(const std::string& name) const;
  bool HasQuery(const std::string& name) const { return query.count(name) != 0; }
  // The media type of Content-Type without parameters, in lower case: "application/json".
  std::string MediaType() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;

  void SetHeader(const std::string& name, const std::string& value);
};

// Handlers answer exactly once, on any thread (a run-and-wait answer comes from a queue worker).
using Respond = std::function<void(HttpResponse)>;

// Splits a request target into a decoded path and query. Returns false for a malformed target
// (bad percent escape, NUL byte, no leading '/').
bool ParseTarget(const std::string& target, std::string* path,
                 std::map<std::string, std::string>* query);
// application/x-www-form-urlencoded ("a=1&b=x+y") into a map; false when malformed.
bool ParseForm(const std::string& body, std::map<std::string, std::string>* out);
// Percent-decoding; plus_is_space for form bodies and query strings. false when malformed.
bool PercentDecode(const std::string& in, bool plus_is_space, std::string* out);

std::string ToLower(std::string s);
// Standard reason phrase for a status code ("Not Found"), for logs and error bodies.
const char* ReasonPhrase(int status);

}  // namespace runbox::server
