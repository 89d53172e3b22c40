#include "api/access_log.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace kakehashi::api {

namespace {

std::string printable(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c > 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

}  // namespace

std::string format_utc_time(std::int64_t micros) {
  std::int64_t seconds = micros / 1000000, fraction = micros % 1000000;
  if (fraction < 0) {  // before 1970: floor, not truncate
    fraction += 1000000;
    seconds -= 1;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[48];
  std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%06lldZ", static_cast<long long>(fraction));
  return text;
}

std::string format_access_line(const access_entry& entry) {
  boost::json::object line;
  auto now = std::chrono::system_clock::now();
  line["time"] = format_utc_time(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
  line["method"] = printable(entry.method);
  line["path"] = printable(entry.path);
  line["status"] = entry.status;
  line["bytes"] = entry.bytes;
  line["us"] = entry.micros;
  return boost::json::serialize(line);
}

void write_stderr_line(std::string_view line) {
  std::string text;
  text.reserve(line.size() + 1);
  text.append(line);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace kakehashi::api
