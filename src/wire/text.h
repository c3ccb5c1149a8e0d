#pragma once
// Bytes as JSON text: the UTF-8 check that decides whether an output or a file can travel as a
// JSON string, and the base64 that carries it when it cannot. Used by the wire encoder
// (result_json.h) and by every API's request decoder (server/codec.h).

#include <string>

namespace runbox::wire {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(const std::string& s);

// Standard alphabet, with padding.
std::string Base64Encode(const std::string& in);
// Accepts standard and URL-safe alphabets, with or without padding, and ignores whitespace
// (Judge0 clients send MIME-wrapped base64). false on other characters, on data after '=' padding,
// and on a length that cannot be base64 (a single leftover character).
bool Base64Decode(const std::string& in, std::string* out);

}  // namespace runbox::wire
