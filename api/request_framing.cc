#include "api/request_framing.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

namespace kakehashi::api {

namespace {

head_scan refuse(head_scan::verdict what, const char* reason) {
  head_scan out;
  out.what = what;
  out.reason = reason;
  return out;
}

head_scan over_limit(bool in_request_line) {
  return in_request_line
             ? refuse(head_scan::verdict::uri_too_long, "the request line is longer than allowed")
             : refuse(head_scan::verdict::too_large, "the request head is larger than allowed");
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
    v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  return v;
}

}  // namespace

head_scan inspect_request_head(std::string_view data, std::size_t max_head_bytes) {
  using verdict = head_scan::verdict;
  bool in_request_line = true;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (i >= max_head_bytes) return over_limit(in_request_line);
    const char c = data[i];
    if (c == '\0') return refuse(verdict::malformed, "NUL in the request head");
    if (c == '\n') return refuse(verdict::malformed, "a line ended by LF without CR");
    if (c != '\r') continue;
    if (i + 1 >= max_head_bytes) return over_limit(in_request_line);
    if (i + 1 == data.size()) break;  // the LF may be in the next read
    if (data[i + 1] != '\n') return refuse(verdict::malformed, "a CR not followed by LF");
    const std::size_t length = i - line_start;
    if (in_request_line) {
      in_request_line = false;
    } else if (length == 0) {
      head_scan done;
      done.what = verdict::complete;
      done.head_bytes = i + 2;
      return done;
    } else if (data[line_start] == ' ' || data[line_start] == '\t') {
      // obs-fold (RFC 9112 5.2), or whitespace before the first header field (2.2).
      return refuse(verdict::malformed, "a header line folded onto the next (obs-fold)");
    }
    line_start = i + 2;
    ++i;
  }
  if (data.size() >= max_head_bytes) return over_limit(in_request_line);
  return head_scan{};
}

std::optional<std::string_view> framing_problem(const http_request& head) {
  const auto lengths = head.count(http::field::content_length);
  if (lengths > 1) return "more than one Content-Length";
  if (lengths == 1) {
    std::string_view v = trim(head[http::field::content_length]);
    bool digits = !v.empty() && v.size() <= 18;
    for (char c : v)
      digits = digits && c >= '0' && c <= '9';
    if (!digits) return "Content-Length must be one decimal number";
  }
  const auto codings = head.count(http::field::transfer_encoding);
  if (codings == 0) return std::nullopt;
  if (lengths > 0) return "both Content-Length and Transfer-Encoding";
  if (head.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
  if (codings > 1) return "more than one Transfer-Encoding";
  if (!boost::beast::iequals(trim(head[http::field::transfer_encoding]), "chunked"))
    return "a Transfer-Encoding other than chunked";
  return std::nullopt;
}

}  // namespace kakehashi::api
