// Validation of the names the store accepts. Pure functions, thread-safe.
//
// A stream name is 1-200 bytes of [A-Za-z0-9_.:-]; its category is the part before the first
// '-' ("need-0192..." is in category "need"), so `$ce-need` subscribes to all of them. Names
// starting with '$' are reserved for system streams and cannot be appended to.
// An event type is 1-128 bytes: a letter, then [A-Za-z0-9_.].
#pragma once

#include <cstddef>
#include <string_view>

#include "events/result.h"

namespace kakehashi {

inline constexpr std::size_t max_stream_name_bytes = 200;
inline constexpr std::size_t max_type_name_bytes = 128;

status validate_stream_name(std::string_view stream);
status validate_type_name(std::string_view type);
// The category of a stream ("need" for "need-42"); the whole name when it has no '-'.
std::string_view category_of(std::string_view stream);

}  // namespace kakehashi
