#include "server/http_types.h"

#include <cctype>

namespace runbox::server {

std::string ToLower(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

std::string HttpRequest::Header(const std::string& name) const {
  auto it = headers.find(ToLower(name));
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::Query(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

std::string HttpRequest::MediaType() const {
  std::string ct = Header("content-type");
  size_t semi = ct.find(';');
  if (semi != std::string::npos) {
    ct = ct.substr(0, semi);
  }
  while (!ct.empty() && std::isspace(static_cast<unsigned char>(ct.back()))) {
    ct.pop_back();
  }
  return ToLower(ct);
}

void HttpResponse::SetHeader(const std::string& name, const std::string& value) {
  for (auto& h : headers) {
    if (ToLower(h.first) == ToLower(name)) {
      h.second = value;
      return;
    }
  }
  headers.emplace_back(name, value);
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}
}  // namespace

bool PercentDecode(const std::string& in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return false;
      }
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return false;
      }
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

bool ParseForm(const std::string& body, std::map<std::string, std::string>* out) {
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string::npos) {
      amp = body.size();
    }
    std::string pair = body.substr(pos, amp - pos);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string key;
      std::string value;
      if (!PercentDecode(pair.substr(0, eq), true, &key)) {
        return false;
      }
      if (eq != std::string::npos && !PercentDecode(pair.substr(eq + 1), true, &value)) {
        return false;
      }
      (*out)[key] = value;
    }
    pos = amp + 1;
  }
  return true;
}

bool ParseTarget(const std::string& target, std::string* path,
                 std::map<std::string, std::string>* query) {
  if (target.empty() || target[0] != '/') {
    return false;
  }
  size_t q = target.find('?');
  std::string raw_path = target.substr(0, q);
  if (!PercentDecode(raw_path, false, path)) {
    return false;
  }
  if (path->find('\0') != std::string::npos) {
    return false;
  }
  query->clear();
  if (q != std::string::npos) {
    std::string qs = target.substr(q + 1);
    size_t hash = qs.find('#');
    if (hash != std::string::npos) {
      qs = qs.substr(0, hash);
    }
    if (!ParseForm(qs, query)) {
      return false;
    }
  }
  return true;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace runbox::server
