// The web page: files under --static DIR (web/dist), "/" being index.html. A request path is
// checked segment by segment (no "..", no hidden files) and the resolved file must still lie
// under the directory after symlinks are followed, so nothing outside it is ever served.

#include <sys/stat.h>

#include <filesystem>

#include "base/files.h"
#include "server/api.h"

namespace runbox::server {
namespace {

std::string ContentType(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".txt", "text/plain; charset=utf-8"},
      {".md", "text/markdown; charset=utf-8"},
      {".wasm", "application/wasm"},
      {".webmanifest", "application/manifest+json"},
  };
  std::string ext = std::filesystem::path(path).extension().string();
  ext = ToLower(ext);
  for (const auto& [e, t] : kTypes) {
    if (ext == e) {
      return t;
    }
  }
  return "application/octet-stream";
}

HttpResponse NotFound() {
  HttpResponse r;
  r.status = 404;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "not found\n";
  return r;
}

}  // namespace

void RegisterStaticFiles(Router& router, const std::string& dir) {
  std::error_code ec;
  std::filesystem::path root = std::filesystem::weakly_canonical(dir, ec);
  if (ec) {
    root = dir;
  }
  router.SetFallback([root](const HttpRequest& req, const PathParams&, Respond respond) {
    std::string rel = req.path == "/" ? "index.html" : req.path.substr(1);
    if (!rel.empty() && rel.back() == '/') {
      rel += "index.html";
    }
    // Checked on the decoded path: %2e%2e arrives here as "..".
    for (const auto& seg : SplitPath("/" + rel)) {
      if (seg.empty() || seg == "." || seg == ".." || seg[0] == '.' ||
          seg.find('\\') != std::string::npos) {
        respond(NotFound());
        return;
      }
    }
    std::error_code err;
    std::filesystem::path file = std::filesystem::canonical(root / rel, err);
    if (err) {
      respond(NotFound());
      return;
    }
    std::string f = file.string();
    std::string r = root.string();
    if (f.compare(0, r.size(), r) != 0 || (f.size() > r.size() && f[r.size()] != '/')) {
      respond(NotFound());  // a symlink pointing outside the directory
      return;
    }
    struct stat st;
    if (::stat(f.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
      respond(NotFound());
      return;
    }
    auto content = ReadFile(f);
    if (!content) {
      respond(NotFound());
      return;
    }
    HttpResponse resp;
    resp.content_type = ContentType(f);
    resp.body = std::move(*content);
    // Vite puts a content hash in asset names; the page itself must be revalidated.
    bool hashed = rel.rfind("assets/", 0) == 0;
    resp.SetHeader("Cache-Control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
    resp.SetHeader("X-Content-Type-Options", "nosniff");
    respond(std::move(resp));
  });
}

}  // namespace runbox::server
