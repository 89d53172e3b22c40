#include "api/router.h"

#include <algorithm>
#include <atomic>
#include <exception>

namespace kakehashi::api {

namespace {

// Calls `visit` on each segment of an absolute path ("/a/b" -> "a", "b"); false stops.
template <class Visit>
void for_each_segment(std::string_view path, Visit&& visit) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    if (!visit(path.substr(0, slash))) return;
    if (slash == std::string_view::npos) return;
    path.remove_prefix(slash + 1);
  }
}

bool is_placeholder(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return false;
  }
  return true;
}

bool is_short_number(std::string_view s) {
  return !s.empty() && s.size() <= 8 && std::all_of(s.begin(), s.end(), is_digit);
}

// A UUID, a number of at most 8 digits, or a stream name: category-<uuid or such a number>.
bool is_id_like(std::string_view s) {
  if (is_uuid(s) || is_short_number(s)) return true;
  auto dash = s.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash > 32) return false;
  std::string_view category = s.substr(0, dash), rest = s.substr(dash + 1);
  return std::all_of(category.begin(), category.end(), is_lower) &&
         (is_uuid(rest) || is_short_number(rest));
}

}  // namespace

std::string_view request_view::param(std::string_view name) const {
  for (const auto& [key, value] : params)
    if (key == name) return value;
  return {};
}

struct reply::state {
  send_fn send;
  std::atomic<bool> replied{false};

  ~state() {
    // A handler lost its reply without answering: answer for it rather than leave the client
    // (and the connection) hanging.
    if (!replied.load())
      send(error_response(http::status::internal_server_error, "internal",
                          "the request was not answered"));
  }
};

reply::reply(send_fn send) : state_(std::make_shared<state>()) {
  state_->send = std::move(send);
}

void reply::operator()(http_response res) const {
  if (state_->replied.exchange(true)) return;
  // Released right after: the sender may hold the connection and I/O work alive.
  send_fn send = std::move(state_->send);
  send(std::move(res));
}

void router::add(http::verb method, std::string_view pattern, handler h) {
  route r{method, std::string(pattern), {}, std::move(h)};
  for_each_segment(pattern, [&](std::string_view segment) {
    r.segments.emplace_back(segment);
    if (!is_placeholder(segment)) literals_.emplace(segment);
    return true;
  });
  routes_.push_back(std::move(r));
}

void router::add_sync(http::verb method, std::string_view pattern, sync_handler h) {
  add(method, pattern, [h = std::move(h)](const request_view& req, reply done) { done(h(req)); });
}

bool router::match(const route& r, std::string_view path, request_view* out) {
  std::size_t i = 0;
  bool ok = true;
  for_each_segment(path, [&](std::string_view segment) {
    if (i >= r.segments.size()) return ok = false;
    const std::string& want = r.segments[i++];
    if (is_placeholder(want)) {
      if (segment.empty()) return ok = false;
      if (out) out->params.emplace_back(std::string_view(want).substr(1, want.size() - 2), segment);
      return true;
    }
    return ok = (segment == want);
  });
  return ok && i == r.segments.size();
}

void router::dispatch(const http_request& req, reply done, std::string_view client_address) const {
  if (observer_) {
    done = reply([inner = done, observer = observer_,
                  start = std::chrono::steady_clock::now()](http_response res) {
      observer(res.result_int(), std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - start));
      inner(std::move(res));
    });
  }
  request_view view;
  view.message = &req;
  view.client_address = client_address;
  std::tie(view.path, view.query) = split_target(req.target());

  bool path_known = false;
  for (const route& r : routes_) {
    if (!match(r, view.path, nullptr)) continue;
    path_known = true;
    if (r.method != req.method()) continue;
    match(r, view.path, &view);
    try {
      r.run(view, done);
    } catch (const std::exception&) {
      done(error_response(http::status::internal_server_error, "internal", "internal error"));
    }
    return;
  }
  if (!path_known) {
    done(error_response(http::status::not_found, "not_found", "no such resource"));
    return;
  }
  http_response res = error_response(http::status::method_not_allowed, "method_not_allowed",
                                     "method not allowed on this resource");
  res.set(http::field::allow, allowed_methods(view.path));
  done(std::move(res));
}

std::string router::loggable_path(std::string_view path) const {
  std::string out;
  for_each_segment(path, [&](std::string_view segment) {
    out += '/';
    if (segment.empty() || literals_.count(segment) || is_id_like(segment))
      out += segment;
    else
      out += '*';
    return true;
  });
  return out;
}

std::string router::allowed_methods(std::string_view path) const {
  std::vector<http::verb> seen;
  std::string out;
  for (const route& r : routes_) {
    if (!match(r, path, nullptr)) continue;
    if (std::find(seen.begin(), seen.end(), r.method) != seen.end()) continue;
    seen.push_back(r.method);
    if (!out.empty()) out += ", ";
    out += http::to_string(r.method);
  }
  return out;
}

std::vector<router::route_info> router::list() const {
  std::vector<route_info> out;
  out.reserve(routes_.size());
  for (const route& r : routes_)
    out.push_back({r.method, r.pattern});
  return out;
}

void router::observe_replies(reply_observer observer) {
  observer_ = std::move(observer);
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

}  // namespace kakehashi::api
