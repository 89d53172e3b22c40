// The result vocabulary: result<T>, status and error kinds.
#include "events/result.h"

#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>

namespace kakehashi {
namespace {

result<int> half(int n) {
  if (n % 2) return make_error(errc::invalid_argument, "odd", "n must be even", "n");
  return n / 2;
}

TEST_CASE("result holds a value or an error") {
  auto ok = half(8);
  REQUIRE(ok.ok());
  CHECK(static_cast<bool>(ok));
  CHECK(*ok == 4);
  CHECK(ok.value() == 4);

  auto bad = half(7);
  REQUIRE_FALSE(bad.ok());
  CHECK_FALSE(static_cast<bool>(bad));
  CHECK(bad.err().kind == errc::invalid_argument);
  CHECK(bad.err().code == "odd");
  CHECK(bad.err().message == "n must be even");
  CHECK(bad.err().field == "n");
  error taken = bad.take_err();
  CHECK(taken.code == "odd");
}

TEST_CASE("result moves its value out") {
  result<std::unique_ptr<std::string>> r(std::make_unique<std::string>("moved"));
  REQUIRE(r.ok());
  std::unique_ptr<std::string> out = std::move(r).value();
  REQUIRE(out != nullptr);
  CHECK(*out == "moved");
  CHECK(r->get() == nullptr);  // NOLINT(bugprone-use-after-move): moved-from state
}

TEST_CASE("status is ok by default and carries an error otherwise") {
  status fine;
  CHECK(fine.ok());
  status failed = make_error(errc::conflict, "wrong_expected_version", "stream moved on");
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.err().kind == errc::conflict);
  CHECK(failed.err().code == "wrong_expected_version");
  CHECK(failed.err().field.empty());
}

TEST_CASE("every error kind has a distinct name") {
  const errc kinds[] = {errc::invalid_argument, errc::too_large, errc::not_found,  errc::conflict,
                        errc::unauthorized,     errc::forbidden, errc::overloaded, errc::timeout,
                        errc::unavailable,      errc::io_error,  errc::corruption, errc::internal};
  CHECK(std::strcmp(to_string(errc::conflict), "conflict") == 0);
  CHECK(std::strcmp(to_string(errc::too_large), "too_large") == 0);
  CHECK(std::strcmp(to_string(errc::invalid_argument), "invalid_argument") == 0);
  for (std::size_t i = 0; i < std::size(kinds); ++i)
    for (std::size_t j = 0; j < i; ++j)
      CHECK(std::strcmp(to_string(kinds[i]), to_string(kinds[j])) != 0);
}

}  // namespace
}  // namespace kakehashi
