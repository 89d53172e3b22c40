#include "api/input.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <set>
#include <vector>

#include "events/text_formats.h"

namespace kakehashi::api {

namespace json = boost::json;

namespace {

constexpr std::size_t max_parameter_bytes = 1024;
constexpr std::size_t max_json_depth = 32;
constexpr std::size_t max_on_behalf_of_bytes = 128;

error bad_parameter(std::string_view name, std::string message) {
  return make_error(errc::invalid_argument, "invalid_parameter", std::move(message),
                    std::string(name));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view text, std::size_t from, std::size_t count, int& out) {
  if (from + count > text.size()) return false;
  out = 0;
  for (std::size_t i = from; i < from + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

constexpr std::int64_t micros_per_day = 86'400'000'000LL;

// Walks a JSON text and fails on a key repeated within one object, naming its path. The value
// itself is built afterwards by boost::json::parse, which would keep only one of the copies.
class duplicate_finder {
 public:
  constexpr static std::size_t max_object_size = std::size_t(-1);
  constexpr static std::size_t max_array_size = std::size_t(-1);
  constexpr static std::size_t max_key_size = std::size_t(-1);
  constexpr static std::size_t max_string_size = std::size_t(-1);

  std::string duplicate;  // the path of the first repeated key

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    frames_.push_back(frame{true, {}, {}, 0});
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    frames_.pop_back();
    return value();
  }
  bool on_array_begin(json::error_code&) {
    frames_.push_back(frame{false, {}, {}, 0});
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    frames_.pop_back();
    return value();
  }
  bool on_key_part(json::string_view part, std::size_t, json::error_code&) {
    key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, std::size_t, json::error_code& ec) {
    key_.append(part.data(), part.size());
    frame& f = frames_.back();
    if (!f.keys.insert(key_).second) {
      duplicate = path_of(key_);
      ec = json::error::syntax;  // stops the parser; reported as duplicate_field
      return false;
    }
    f.key = std::move(key_);
    key_.clear();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return value(); }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return value(); }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return value(); }
  bool on_double(double, json::string_view, json::error_code&) { return value(); }
  bool on_bool(bool, json::error_code&) { return value(); }
  bool on_null(json::error_code&) { return value(); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct frame {
    bool object;
    std::set<std::string> keys;
    std::string key;    // the current member's key (objects)
    std::size_t index;  // the current element's index (arrays)
  };

  // A value (a container once it ends) moves its parent array on to the next index.
  bool value() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
    return true;
  }

  std::string path_of(const std::string& key) const {
    std::string out;
    for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
      const frame& f = frames_[i];
      if (f.object) {
        if (!out.empty()) out += '.';
        out += f.key;
      } else {
        out += '[' + std::to_string(f.index) + ']';
      }
    }
    if (!out.empty()) out += '.';
    return out + key;
  }

  std::vector<frame> frames_;
  std::string key_;
};

}  // namespace

result<query_map> parse_query(std::string_view query,
                              const std::vector<std::string_view>& allowed) {
  query_map out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    if (pair.empty()) continue;
    if (pair.size() > max_parameter_bytes)
      return bad_parameter("", "a query parameter is longer than 1024 bytes");
    auto eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq));
    auto value =
        percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value || !is_valid_utf8(*name) || !is_valid_utf8(*value))
      return bad_parameter(name ? *name : std::string(), "malformed percent-encoding or not UTF-8");
    bool known = false;
    for (auto a : allowed)
      known = known || a == *name;
    if (!known)
      return make_error(errc::invalid_argument, "unknown_parameter",
                        "this resource has no query parameter of that name", *name);
    if (out.count(*name))
      return make_error(errc::invalid_argument, "duplicate_parameter",
                        "the query parameter appears more than once", *name);
    out.emplace(std::move(*name), std::move(*value));
  }
  return out;
}

result<std::uint64_t> parse_count(std::string_view text, std::string_view name, std::uint64_t min,
                                  std::uint64_t max) {
  std::uint64_t v = 0;
  bool ok = !text.empty() && text.size() <= 19;
  for (char c : text) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok || v < min || v > max)
    return bad_parameter(name, std::string(name) + " must be an integer from " +
                                   std::to_string(min) + " to " + std::to_string(max));
  return v;
}

result<json::object> parse_json_object(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  if (!is_valid_utf8(body))
    return make_error(errc::invalid_argument, "invalid_json", "the body is not valid UTF-8");
  json::parse_options options;
  options.max_depth = max_json_depth;
  {
    json::basic_parser<duplicate_finder> walk(options);
    json::error_code ec;
    walk.write_some(false, body.data(), body.size(), ec);
    if (!walk.handler().duplicate.empty())
      return make_error(errc::invalid_argument, "duplicate_field", "appears more than once",
                        walk.handler().duplicate);
  }
  json::error_code ec;
  json::value parsed = json::parse(body, ec, {}, options);
  if (ec)
    return make_error(errc::invalid_argument, "invalid_json",
                      "the body is not valid JSON: " + ec.message());
  if (!parsed.is_object())
    return make_error(errc::invalid_argument, "invalid_json", "the body must be a JSON object");
  return std::move(parsed.as_object());
}

std::optional<std::int64_t> parse_rfc3339(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)
  int y, mo, d, h, mi, s;
  if (t.size() < 20 || !digits(t, 0, 4, y) || t[4] != '-' || !digits(t, 5, 2, mo) || t[7] != '-' ||
      !digits(t, 8, 2, d) || (t[10] != 'T' && t[10] != 't') || !digits(t, 11, 2, h) ||
      t[13] != ':' || !digits(t, 14, 2, mi) || t[16] != ':' || !digits(t, 17, 2, s))
    return std::nullopt;
  if (!is_valid_date(t.substr(0, 10)) || h > 23 || mi > 59 || s > 59) return std::nullopt;
  std::size_t i = 19;
  std::int64_t fraction = 0;
  if (i < t.size() && t[i] == '.') {
    std::size_t start = ++i;
    std::int64_t scale = 100000;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      fraction += (t[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start || i - start > 9) return std::nullopt;
  }
  if (i >= t.size()) return std::nullopt;
  std::int64_t offset_minutes = 0;
  if (t[i] == 'Z' || t[i] == 'z') {
    ++i;
  } else if (t[i] == '+' || t[i] == '-') {
    int oh, om;
    if (!digits(t, i + 1, 2, oh) || i + 3 >= t.size() || t[i + 3] != ':' ||
        !digits(t, i + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = (oh * 60 + om) * (t[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  std::int64_t seconds = days * 86400 + h * 3600 + mi * 60 + s - offset_minutes * 60;
  return seconds * 1'000'000 + fraction;
}

std::optional<std::int64_t> end_of_tokyo_day(std::string_view date) {
  if (!is_valid_date(date)) return std::nullopt;
  int y, m, d;
  static_cast<void>(digits(date, 0, 4, y));
  static_cast<void>(digits(date, 5, 2, m));
  static_cast<void>(digits(date, 8, 2, d));
  std::int64_t next_day =
      days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) + 1;
  return next_day * micros_per_day - 9LL * 3'600'000'000LL - 1;
}

result<read_point> parse_read_point(const query_map& query) {
  read_point out;
  if (auto it = query.find("as_of"); it != query.end()) {
    const std::string& v = it->second;
    bool all_digits = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
    if (all_digits) {
      auto p = parse_count(v, "as_of", 0, std::uint64_t(1) << 62);
      if (!p) return p.take_err();
      out.at = read_point::kind::position;
      out.position = *p;
    } else if (auto day = end_of_tokyo_day(v)) {
      out.at = read_point::kind::time;
      out.micros = *day;
    } else if (auto t = parse_rfc3339(v)) {
      out.at = read_point::kind::time;
      out.micros = *t;
    } else {
      return bad_parameter("as_of",
                           "as_of must be a log position, a date YYYY-MM-DD or an RFC 3339 time");
    }
  }
  if (auto it = query.find("min_position"); it != query.end()) {
    auto p = parse_count(it->second, "min_position", 0, std::uint64_t(1) << 62);
    if (!p) return p.take_err();
    out.min_position = *p;
  }
  return out;
}

status at_most_once(const http_request& req, std::string_view name) {
  if (req.count(name) > 1)
    return make_error(errc::invalid_argument, "duplicate_header",
                      std::string(name) + " appears more than once", std::string(name));
  return {};
}

result<std::optional<std::uint64_t>> parse_if_match(const http_request& req) {
  if (auto once = at_most_once(req, "If-Match"); !once) return once.take_err();
  auto it = req.find(http::field::if_match);
  if (it == req.end()) return std::optional<std::uint64_t>();
  std::string_view v = it->value();
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  auto n = parse_count(v, "If-Match", 0, std::uint64_t(1) << 62);
  if (!n)
    return make_error(errc::invalid_argument, "invalid_header",
                      "If-Match must be the stream's expected version as \"<n>\"", "If-Match");
  return std::optional<std::uint64_t>(*n);
}

result<std::optional<uuid>> parse_idempotency_key(const http_request& req) {
  if (auto once = at_most_once(req, "Idempotency-Key"); !once) return once.take_err();
  auto it = req.find("Idempotency-Key");
  if (it == req.end()) return std::optional<uuid>();
  auto key = parse_uuid(it->value());
  if (!key || key->is_nil())
    return make_error(errc::invalid_argument, "invalid_header", "Idempotency-Key must be a UUID",
                      "Idempotency-Key");
  return std::optional<uuid>(*key);
}

result<std::string> parse_on_behalf_of(const http_request& req) {
  if (auto once = at_most_once(req, "X-On-Behalf-Of"); !once) return once.take_err();
  auto it = req.find("X-On-Behalf-Of");
  if (it == req.end()) return std::string();
  std::string_view v = it->value();
  bool ok = !v.empty() && v.size() <= max_on_behalf_of_bytes;
  for (char c : v)
    ok = ok && c >= 0x20 && c < 0x7f;
  if (!ok)
    return make_error(errc::invalid_argument, "invalid_header",
                      "X-On-Behalf-Of must be 1 to 128 printable ASCII characters (a reference, "
                      "never a person's name)",
                      "X-On-Behalf-Of");
  return std::string(v);
}

}  // namespace kakehashi::api
