// Reading and writing Cap'n Proto payload bytes as typed structs, for the deciders and folds.
// A payload_reader reads the bytes in place when they are word-aligned (Cap'n Proto reads words
// in place; std::string's heap buffers are) and copies them to aligned memory otherwise; the
// bytes must outlive the reader. It opens them with traversal and nesting limits small enough that
// a hostile record cannot amplify into a long walk or a deep stack.
//
// Cap'n Proto reports malformed input by throwing kj::Exception, from the constructor or later
// from a getter; callers in this layer catch it at their boundary (see domain.cc) and turn it
// into an `invalid_payload` error. Readers are single-threaded values; the functions are pure.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>

#include <optional>
#include <string>
#include <string_view>

#include "events/result.h"

namespace kakehashi {

class payload_reader {
 public:
  // Throws kj::Exception for a malformed segment table; call check_payload_length first.
  explicit payload_reader(std::string_view bytes);
  // The reader may point into its input: a temporary would dangle.
  explicit payload_reader(std::string&&) = delete;

  capnp::MessageReader& message() { return *reader_; }
  template <class T>
  typename T::Reader root() {
    return reader_->getRoot<T>();
  }

 private:
  kj::Array<capnp::word> copy_;  // only for unaligned input
  std::optional<capnp::FlatArrayMessageReader> reader_;
};

// `invalid_payload` unless the length is a positive multiple of 8 within max_payload_bytes.
status check_payload_length(std::string_view bytes);

// The flat bytes of a built message.
std::string message_bytes(capnp::MessageBuilder& message);

// Builds a T with `fill(T::Builder)` and returns its bytes.
template <class T, class Fill>
std::string build_payload(Fill&& fill) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<T>());
  return message_bytes(message);
}

inline std::string_view text_view(capnp::Text::Reader text) {
  return {text.cStr(), text.size()};
}

}  // namespace kakehashi
