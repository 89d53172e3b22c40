#include "events/payload_io.h"

#include <cstdint>
#include <cstring>

#include "events/event_codec.h"

namespace kakehashi {
namespace {

constexpr unsigned max_capnp_nesting = 8;  // payloads nest 3 deep

}  // namespace

payload_reader::payload_reader(std::string_view bytes) {
  const std::size_t words = bytes.size() / sizeof(capnp::word);
  kj::ArrayPtr<const capnp::word> view;
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) {
    view = {reinterpret_cast<const capnp::word*>(bytes.data()), words};
  } else {
    copy_ = kj::heapArray<capnp::word>(words);
    std::memcpy(copy_.begin(), bytes.data(), words * sizeof(capnp::word));
    view = copy_.asPtr();
  }
  capnp::ReaderOptions options;
  options.traversalLimitInWords = max_payload_bytes / sizeof(capnp::word);
  options.nestingLimit = max_capnp_nesting;
  reader_.emplace(view, options);
}

status check_payload_length(std::string_view bytes) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0)
    return make_error(errc::corruption, "invalid_payload",
                      "payload bytes do not decode: length is not a positive multiple of 8");
  if (bytes.size() > max_payload_bytes)
    return make_error(errc::corruption, "invalid_payload",
                      "payload bytes do not decode: larger than the limit");
  return {};
}

std::string message_bytes(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

}  // namespace kakehashi
