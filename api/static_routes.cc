// GET / and GET /assets/...: the dashboard's files (api/web_assets.h), without authentication:
// they hold no data, only the code that asks for it with the user's token.
//
// Every response carries a strict Content-Security-Policy (scripts, styles and fetches from this
// origin only, plus the WebSocket), an ETag so a reload costs a 304, and `Cache-Control:
// no-cache` because file names carry no version: a browser must revalidate after an upgrade.
#include <cstdint>
#include <cstdio>
#include <string>

#include "api/routes.h"
#include "api/web_assets.h"

namespace kakehashi::api {

namespace {

// 'self' covers same-origin ws: in current browsers but not in all; ws:/wss: are named so the
// stream works everywhere. Inline scripts and styles are refused (the dashboard has none).
constexpr std::string_view content_security_policy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

std::string_view content_type_for(std::string_view path) {
  auto dot = path.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "json") return "application/json";
  if (ext == "tsv") return "text/tab-separated-values; charset=utf-8";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  return "application/octet-stream";
}

// FNV-1a 64: only to tell versions of a file apart, not a security boundary.
std::string etag_of(std::string_view content) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : content) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  char text[24];
  std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(hash));
  return text;
}

// If-None-Match holds `etag` (a list, or `*`). Weak comparison, as RFC 9110 asks for GET.
bool not_modified(const http_request& req, std::string_view etag) {
  auto it = req.find(http::field::if_none_match);
  if (it == req.end()) return false;
  std::string_view list = it->value();
  if (list.find('*') != std::string_view::npos) return true;
  return list.find(etag) != std::string_view::npos;
}

void add_asset(router& routes, std::string_view url, const web_asset& asset) {
  std::string etag = etag_of(asset.content);
  std::string_view type = content_type_for(asset.path);
  routes.add_sync(http::verb::get, url, [asset, etag, type](const request_view& req) {
    http_response res;
    res.version(11);
    if (not_modified(*req.message, etag)) {
      res.result(http::status::not_modified);
    } else {
      res.result(http::status::ok);
      res.set(http::field::content_type, type);
      res.body().assign(asset.content.data(), asset.content.size());
    }
    res.set(http::field::etag, etag);
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.set("Content-Security-Policy", content_security_policy);
    return res;
  });
}

}  // namespace

void add_static_routes(router& routes) {
  for (const web_asset& asset : web_assets()) {
    add_asset(routes, asset.path, asset);
    if (asset.path == "/index.html") add_asset(routes, "/", asset);
  }
}

}  // namespace kakehashi::api
