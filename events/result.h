// The one error vocabulary shared by every layer: a [[nodiscard]] result<T> that holds either a
// value or an error {kind, code, message, field}. `kind` drives transport mapping (HTTP status);
// `code` is the stable machine-readable name clients see ("wrong_expected_version",
// "talent_not_active"); `field` names the offending input where there is one.
// Exceptions are reserved for startup; everything after returns a result.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace kakehashi {

enum class errc : std::uint8_t {
  invalid_argument,  // malformed or out-of-range input (400)
  too_large,         // over a size limit (413)
  not_found,         // (404)
  conflict,          // expected version or a domain rule (409)
  unauthorized,      // (401)
  forbidden,         // (403)
  overloaded,        // a bounded queue is full; retry later (429/503)
  timeout,           // a bounded wait ran out (504)
  unavailable,       // the store refuses writes after an IO failure, or is shutting down (503)
  io_error,          // the disk said no; the operation was not acknowledged (500)
  corruption,        // stored data does not verify (500)
  internal,          // a bug (500)
};

const char* to_string(errc kind);

struct error {
  errc kind = errc::internal;
  std::string code;
  std::string message;
  std::string field;
};

inline error make_error(errc kind, std::string code, std::string message, std::string field = {}) {
  return error{kind, std::move(code), std::move(message), std::move(field)};
}

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  result(error err) : state_(std::in_place_index<1>, std::move(err)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const {
    assert(!ok());
    return std::get<1>(state_);
  }
  error&& take_err() {
    assert(!ok());
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, error> state_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error err) : err_(std::move(err)), failed_(true) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const error& err() const {
    assert(failed_);
    return err_;
  }
  error&& take_err() {
    assert(failed_);
    return std::move(err_);
  }

 private:
  error err_;
  bool failed_ = false;
};

using status = result<void>;

}  // namespace kakehashi
