// Fuzzes every HTTP API through Router::Handle: the native /api/v1, Piston v2, Judge0 CE and
// paiza.IO routes, with their decoders, the JobService and the real queue over the FakeEngine.
//
// Input: an HTTP request as text, the way Beast hands it to the server (http_server.cc):
//   METHOD TARGET\n
//   name: value\n        (headers, until an empty line)
//   \n
//   body
// A target ParseTarget rejects is answered 400 by the server before routing; such inputs stop
// there. Findings (fuzz_env.h): sanitizer reports, a handler that throws, a request answered
// never (within 20 s) or twice, a status outside 100..599.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "fuzz_env.h"
#include "server/http_types.h"

namespace {

using runbox::fuzz::Finding;
using runbox::fuzz::FuzzEnv;
using runbox::server::HttpRequest;
using runbox::server::HttpResponse;

struct Answer {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  int status = 0;
};

bool ParseRequest(const std::string& text, HttpRequest* req) {
  size_t eol = text.find('\n');
  std::string line = text.substr(0, eol);
  size_t sp = line.find(' ');
  if (sp == std::string::npos) {
    return false;
  }
  req->method = line.substr(0, sp);
  req->target = line.substr(sp + 1);
  size_t pos = eol == std::string::npos ? text.size() : eol + 1;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string header = text.substr(pos, end - pos);
    pos = end + 1;
    if (header.empty()) {
      break;
    }
    size_t colon = header.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    std::string name = runbox::server::ToLower(header.substr(0, colon));
    std::string value = header.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    auto it = req->headers.find(name);
    if (it == req->headers.end()) {
      req->headers[name] = value;
    } else {
      it->second += ", " + value;
    }
  }
  if (pos < text.size()) {
    req->body = text.substr(pos);
  }
  req->remote_ip = "127.0.0.1";
  return runbox::server::ParseTarget(req->target, &req->path, &req->query);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzEnv& env = FuzzEnv::Get();
  HttpRequest req;
  if (!ParseRequest(std::string(reinterpret_cast<const char*>(data), size), &req)) {
    return 0;
  }
  auto answer = std::make_shared<Answer>();
  env.router().Handle(req, [answer](HttpResponse r) {
    std::lock_guard<std::mutex> lock(answer->mu);
    if (++answer->calls > 1) {
      Finding("a request was answered twice");
    }
    answer->status = r.status;
    answer->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(answer->mu);
  if (!answer->cv.wait_for(lock, std::chrono::seconds(20), [&] { return answer->calls > 0; })) {
    Finding("no answer within 20 s to " + req.method + " " + req.target);
  }
  if (answer->status < 100 || answer->status > 599) {
    Finding("status " + std::to_string(answer->status));
  }
  return 0;
}
