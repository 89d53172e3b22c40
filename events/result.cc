#include "events/result.h"

namespace kakehashi {

const char* to_string(errc kind) {
  switch (kind) {
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::too_large:
      return "too_large";
    case errc::not_found:
      return "not_found";
    case errc::conflict:
      return "conflict";
    case errc::unauthorized:
      return "unauthorized";
    case errc::forbidden:
      return "forbidden";
    case errc::overloaded:
      return "overloaded";
    case errc::timeout:
      return "timeout";
    case errc::unavailable:
      return "unavailable";
    case errc::io_error:
      return "io_error";
    case errc::corruption:
      return "corruption";
    case errc::internal:
      return "internal";
  }
  return "internal";
}

}  // namespace kakehashi
