#include "server/url.h"

#include <arpa/inet.h>

#include <cctype>

namespace runbox::server {
namespace {

Error Bad(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, what);
}

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

bool ParsePort(const std::string& p, uint16_t* port) {
  if (p.empty() || p.size() > 5) {
    return false;
  }
  unsigned long v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + static_cast<unsigned long>(c - '0');
  }
  if (v == 0 || v > 65535) {
    return false;
  }
  *port = static_cast<uint16_t>(v);
  return true;
}

// A registered name or an IPv4 literal: letters, digits, '-', '.', '_' only. Anything else
// (percent escapes included) is refused: resolvers and proxies disagree on what they mean.
bool ValidRegName(const std::string& h) {
  if (h.empty() || h.size() > 253) {
    return false;
  }
  for (char c : h) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
      return false;
    }
  }
  return true;
}

bool SecretName(const std::string& name) {
  std::string n = Lower(name);
  static const char* kSecret[] = {"api_key", "apikey",    "api-key",  "key",    "token",
                                  "access_token", "auth", "password", "passwd", "secret",
                                  "signature", "sig", "x-api-key", "x_auth_token", "x-auth-token"};
  for (const char* s : kSecret) {
    if (n == s) {
      return true;
    }
  }
  // Catch-alls: "my_api_key", "client_secret", "refresh_token".
  return n.find("key") != std::string::npos || n.find("token") != std::string::npos ||
         n.find("secret") != std::string::npos || n.find("pass") != std::string::npos;
}

}  // namespace

std::string HttpUrl::HostPort() const {
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool SplitHostPort(const std::string& hp, std::string* host, uint16_t* port) {
  *port = 0;
  for (unsigned char c : hp) {
    if (c <= 0x20 || c >= 0x7f) {
      return false;
    }
  }
  std::string h;
  std::string p;
  if (!hp.empty() && hp[0] == '[') {
    size_t close = hp.find(']');
    if (close == std::string::npos) {
      return false;
    }
    h = hp.substr(1, close - 1);
    std::string rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') {
        return false;
      }
      p = rest.substr(1);
      if (!ParsePort(p, port)) {
        return false;
      }
    }
    in6_addr a6;
    if (inet_pton(AF_INET6, h.c_str(), &a6) != 1) {
      return false;
    }
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    *host = buf;  // canonical form, so "[::0001]" and "[::1]" are one host
    return true;
  }
  size_t colon = hp.find(':');
  if (colon != std::string::npos) {
    if (hp.find(':', colon + 1) != std::string::npos) {
      return false;  // a bare IPv6 literal: must be bracketed
    }
    h = hp.substr(0, colon);
    if (!ParsePort(hp.substr(colon + 1), port)) {
      return false;
    }
  } else {
    h = hp;
  }
  if (!ValidRegName(h)) {
    return false;
  }
  // A trailing dot names the same host ("localhost." is localhost).
  if (h.size() > 1 && h.back() == '.') {
    h.pop_back();
  }
  *host = Lower(h);
  return true;
}

Result<HttpUrl> ParseHttpUrl(const std::string& url) {
  for (size_t i = 0; i < url.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(url[i]);
    if (c < 0x21 || c >= 0x7f) {
      return Bad("the URL contains a control byte, a space or a non-ASCII byte at offset " +
                 std::to_string(i) + "; percent-encode it");
    }
    if (c == '\\') {
      return Bad("the URL contains a backslash at offset " + std::to_string(i));
    }
  }
  HttpUrl out;
  size_t colon = url.find("://");
  if (colon == std::string::npos) {
    return Bad("expected an absolute http:// URL");
  }
  out.scheme = Lower(url.substr(0, colon));
  if (out.scheme != "http" && out.scheme != "https") {
    return Bad("only http:// and https:// URLs, not " + out.scheme + "://");
  }
  std::string rest = url.substr(colon + 3);
  size_t hash = rest.find('#');
  if (hash != std::string::npos) {
    rest.resize(hash);  // the fragment stays with the client (RFC 9110 §4.2.4)
  }
  size_t end = rest.find_first_of("/?");
  std::string authority = rest.substr(0, end);
  if (authority.find('@') != std::string::npos) {
    return Bad("user information (user@host) is not allowed in the URL");
  }
  if (authority.empty()) {
    return Bad("the URL has no host");
  }
  uint16_t port = 0;
  if (!SplitHostPort(authority, &out.host, &port)) {
    return Bad("the URL's host and port '" + authority + "' are malformed");
  }
  out.ipv6 = authority[0] == '[';
  out.port = port ? port : (out.scheme == "https" ? 443 : 80);
  out.target = end == std::string::npos ? "/" : rest.substr(end);
  if (out.target[0] == '?') {
    out.target = "/" + out.target;
  }
  return out;
}

bool CallbackAllowlisted(const std::vector<std::string>& allowlist, const HttpUrl& url) {
  for (const auto& entry : allowlist) {
    std::string host;
    uint16_t port = 0;
    if (SplitHostPort(entry, &host, &port) && port == url.port && host == url.host) {
      return true;
    }
  }
  return false;
}

std::string RedactTarget(const std::string& target) {
  size_t q = target.find('?');
  if (q == std::string::npos) {
    return target;
  }
  std::string out = target.substr(0, q + 1);
  std::string query = target.substr(q + 1);
  size_t pos = 0;
  bool first = true;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) {
      amp = query.size();
    }
    std::string pair = query.substr(pos, amp - pos);
    if (!first) {
      out += '&';
    }
    first = false;
    size_t eq = pair.find('=');
    std::string name = pair.substr(0, eq);
    if (eq != std::string::npos && SecretName(name)) {
      out += name + "=***";
    } else {
      out += pair;
    }
    pos = amp + 1;
  }
  return out;
}

std::string RedactUrl(const std::string& url) {
  std::string safe;
  for (unsigned char c : url) {
    if (c < 0x20 || c >= 0x7f) {
      static const char kHex[] = "0123456789ABCDEF";
      safe += '%';
      safe += kHex[c >> 4];
      safe += kHex[c & 15];
    } else {
      safe += static_cast<char>(c);
    }
  }
  size_t scheme = safe.find("://");
  size_t slash = safe.find_first_of("/?", scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) {
    return safe;
  }
  return safe.substr(0, slash) + RedactTarget(safe.substr(slash));
}

}  // namespace runbox::server
