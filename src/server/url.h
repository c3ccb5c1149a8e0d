#pragma once
// The server's one URL parser, for the URLs that come from clients: Judge0 callback_url (checked
// against the allowlist and then sent to: both use the same parsed parts, so the check cannot
// see one host and the sender another), Origin and Host headers (cross-site checks), and the
// redaction of secrets in logged request targets.
//
// Strict on purpose: a URL with a control byte, a space or a byte above 0x7f is refused rather
// than "cleaned", because CR/LF in a URL that becomes a request line or a Host header is request
// splitting, and any byte the check and the sender read differently is a bypass.

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace runbox::server {

struct HttpUrl {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // lower case; an IPv6 literal without its brackets ("::1")
  bool ipv6 = false;   // host is an IPv6 literal
  uint16_t port = 0;   // the explicit port, else the scheme's default (80, 443)
  std::string target;  // path and query as sent on the request line: "/done?x=1"; at least "/"

  // "host:port" with IPv6 in brackets ("[::1]:9000"): the Host header and the allowlist key.
  std::string HostPort() const;
};

// Parses an absolute http:// or https:// URL. Refuses (kInvalidArgument, saying what is wrong):
// any byte below 0x21, 0x7f or above 0x7f anywhere; userinfo ("user@host"); an empty or
// malformed host; a port that is not 1..65535; backslashes. A fragment ("#...") is never part
// of a request and is dropped here, so that nothing downstream can see it.
Result<HttpUrl> ParseHttpUrl(const std::string& url);

// Normalizes a host as it appears in a Host header or an allowlist entry: lower case, IPv6
// without brackets. `host_port` is "host", "host:port", "[v6]" or "[v6]:port"; *port is 0 when
// none is given. false when malformed (control bytes, spaces, junk after the brackets).
bool SplitHostPort(const std::string& host_port, std::string* host, uint16_t* port);

// Whether `url` names a host:port on `allowlist` (entries "host:port", "[v6]:port"), after both
// are normalized by SplitHostPort. No DNS: the sender resolves the host once and connects to
// exactly the addresses it got (HttpServer::Put).
bool CallbackAllowlisted(const std::vector<std::string>& allowlist, const HttpUrl& url);

// A request target for logs: the value of every query parameter whose name suggests a secret
// (api_key, key, token, access_token, auth, password, secret, signature, ...) becomes "***".
std::string RedactTarget(const std::string& target);
// A URL for logs: RedactTarget applied to its path and query; control bytes escaped.
std::string RedactUrl(const std::string& url);

}  // namespace runbox::server
