// Fuzzes the parsing of request targets, query strings and form bodies (server/http_types.h):
// ParseTarget, ParseForm and PercentDecode, and checks what they promise:
//   - a target ParseTarget accepts has a decoded path that starts with '/' and holds no NUL;
//   - PercentDecode inverts percent-encoding: every byte written as %XX decodes back to itself;
//   - ParseForm accepts what a form encoder (percent-encoding every byte) produces, and gives
//     back the same pairs.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "fuzz_finding.h"
#include "server/http_types.h"

namespace {

using runbox::fuzz::Finding;

std::string PercentEncodeAll(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);

  std::string path;
  std::map<std::string, std::string> query;
  if (runbox::server::ParseTarget(in, &path, &query)) {
    if (path.empty() || path[0] != '/') {
      Finding("ParseTarget accepted a path without a leading '/'");
    }
    if (path.find('\0') != std::string::npos) {
      Finding("ParseTarget accepted a path with a NUL byte");
    }
  }

  std::string decoded;
  runbox::server::PercentDecode(in, true, &decoded);
  runbox::server::PercentDecode(in, false, &decoded);
  if (!runbox::server::PercentDecode(PercentEncodeAll(in), false, &decoded) || decoded != in) {
    Finding("PercentDecode(PercentEncode(x)) != x");
  }

  std::map<std::string, std::string> form;
  runbox::server::ParseForm(in, &form);

  // The input split in half as one key=value pair, encoded the way a browser would.
  std::string key = in.substr(0, in.size() / 2);
  std::string value = in.substr(in.size() / 2);
  if (!key.empty()) {
    std::map<std::string, std::string> pair;
    std::string body = PercentEncodeAll(key) + "=" + PercentEncodeAll(value);
    if (!runbox::server::ParseForm(body, &pair) || pair.size() != 1 || pair.begin()->first != key ||
        pair.begin()->second != value) {
      Finding("ParseForm did not give back an encoded pair");
    }
  }
  return 0;
}
