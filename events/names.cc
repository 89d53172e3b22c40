#include "events/names.h"

#include <string>

namespace kakehashi {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

status validate_stream_name(std::string_view stream) {
  if (stream.empty() || stream.size() > max_stream_name_bytes)
    return make_error(errc::invalid_argument, "invalid_stream_name",
                      "stream name must be 1-" + std::to_string(max_stream_name_bytes) + " bytes",
                      "stream");
  for (char c : stream) {
    if (!(is_alnum(c) || c == '_' || c == '.' || c == ':' || c == '-'))
      return make_error(errc::invalid_argument, "invalid_stream_name",
                        "stream name may only contain A-Z a-z 0-9 _ . : -", "stream");
  }
  if (stream.front() == '-' || stream.back() == '-')
    return make_error(errc::invalid_argument, "invalid_stream_name",
                      "stream name must not start or end with '-'", "stream");
  return {};
}

status validate_type_name(std::string_view type) {
  if (type.empty() || type.size() > max_type_name_bytes)
    return make_error(errc::invalid_argument, "invalid_event_type",
                      "event type must be 1-" + std::to_string(max_type_name_bytes) + " bytes",
                      "type");
  if (!((type[0] >= 'a' && type[0] <= 'z') || (type[0] >= 'A' && type[0] <= 'Z')))
    return make_error(errc::invalid_argument, "invalid_event_type",
                      "event type must start with a letter", "type");
  for (char c : type) {
    if (!(is_alnum(c) || c == '_' || c == '.'))
      return make_error(errc::invalid_argument, "invalid_event_type",
                        "event type may only contain A-Z a-z 0-9 _ .", "type");
  }
  return {};
}

std::string_view category_of(std::string_view stream) {
  auto dash = stream.find('-');
  return dash == std::string_view::npos ? stream : stream.substr(0, dash);
}

}  // namespace kakehashi
