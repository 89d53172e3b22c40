// The live dashboard's static files (api/web/, plus the reference data the dashboard labels
// with), compiled into the binary at build time by api/embed_web.cmake: the server needs no
// files at run time. Paths are URL paths: "/index.html", "/assets/app.js".
//
// The bytes are static data: valid for the whole program, immutable, safe from any thread.
#pragma once

#include <span>
#include <string_view>

namespace kakehashi::api {

struct web_asset {
  std::string_view path;
  std::string_view content;
};

std::span<const web_asset> web_assets();

}  // namespace kakehashi::api
