#include <algorithm>

#include "engine/event_store.h"
#include "events/names.h"

namespace kakehashi {

result<event_filter> event_filter::parse(std::string_view selector,
                                         std::vector<std::string> types) {
  event_filter filter;
  for (const auto& type : types) {
    if (auto valid = validate_type_name(type); !valid) return valid.take_err();
  }
  filter.types = std::move(types);
  if (selector == "$all") return filter;
  if (selector.rfind("$ce-", 0) == 0) {
    auto category = selector.substr(4);
    if (category.empty() || category.find('-') != std::string_view::npos ||
        !validate_stream_name(category))
      return make_error(errc::invalid_argument, "invalid_stream_name",
                        "a category subscription is $ce-<category>, e.g. $ce-need", "stream");
    filter.kind = scope::category;
    filter.name = std::string(category);
    return filter;
  }
  if (auto valid = validate_stream_name(selector); !valid) return valid.take_err();
  filter.kind = scope::stream;
  filter.name = std::string(selector);
  return filter;
}

bool event_filter::matches(std::string_view stream, std::string_view type) const {
  switch (kind) {
    case scope::all:
      break;
    case scope::category:
      if (category_of(stream) != name) return false;
      break;
    case scope::stream:
      if (stream != name) return false;
      break;
  }
  return types.empty() || std::find(types.begin(), types.end(), type) != types.end();
}

}  // namespace kakehashi
