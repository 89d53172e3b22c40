// Decoding of query strings, bodies, headers and read points (api/input.h): pure unit tests.
#include "api/input.h"

#include <doctest/doctest.h>

#include "cli/demo_history.h"

namespace kakehashi::api {

TEST_CASE("input: RFC 3339 times and Tokyo days") {
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339("1970-01-01T09:00:00+09:00") == 0);
  CHECK(parse_rfc3339("1970-01-01T00:00:01.5Z") == 1'500'000);
  CHECK(parse_rfc3339("2025-12-01T23:59:59.999999+09:00") == demo::headline_cutoff_micros);
  CHECK(end_of_tokyo_day("2025-12-01") == demo::headline_cutoff_micros);
  for (const char* bad :
       {"", "2025-12-01", "2025-12-01T24:00:00Z", "2025-02-30T00:00:00Z", "2025-12-01T00:00:00",
        "2025-12-01T00:00:00+0900", "2025-12-01T00:00:00.Z", "2025-12-01T00:00:00Zjunk"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_rfc3339(bad).has_value());
  }
  CHECK_FALSE(end_of_tokyo_day("2025-13-01").has_value());
}

TEST_CASE("input: query strings are percent-decoded, checked and bounded") {
  auto q = parse_query("as_of=2025-12-01T00:00:00+09:00&skill=%E3%83%87%E3%82%B6%E3%82%A4%E3%83%B3",
                       {"as_of", "skill"});
  REQUIRE(q.ok());
  CHECK(q->at("as_of") == "2025-12-01T00:00:00+09:00");  // '+' is not a space here
  CHECK(q->at("skill") == "デザイン");
  CHECK(parse_query("x=1", {"as_of"}).err().code == "unknown_parameter");
  CHECK(parse_query("as_of=1&as_of=2", {"as_of"}).err().code == "duplicate_parameter");
  CHECK(parse_query("as_of=%4", {"as_of"}).err().code == "invalid_parameter");
  CHECK(parse_query("as_of=%ff", {"as_of"}).err().code == "invalid_parameter");  // not UTF-8
  CHECK(parse_query("as_of=" + std::string(2000, '1'), {"as_of"}).err().code ==
        "invalid_parameter");
  CHECK(parse_query("", {}).ok());
}

TEST_CASE("input: read points") {
  auto p = parse_read_point({{"as_of", "42"}, {"min_position", "7"}});
  REQUIRE(p.ok());
  CHECK(p->at == read_point::kind::position);
  CHECK(p->position == 42);
  CHECK(p->min_position == 7u);
  p = parse_read_point({{"as_of", "2025-12-01"}});
  REQUIRE(p.ok());
  CHECK(p->at == read_point::kind::time);
  CHECK(p->micros == demo::headline_cutoff_micros);
  CHECK(parse_read_point({}).value().at == read_point::kind::live);
  CHECK(parse_read_point({{"as_of", "soon"}}).err().field == "as_of");
  CHECK(parse_read_point({{"min_position", "x"}}).err().field == "min_position");
}

TEST_CASE("input: JSON bodies: objects only, duplicates named by path, depth bounded") {
  CHECK(parse_json_object("").value().empty());
  CHECK(parse_json_object("  \n").value().empty());
  CHECK(parse_json_object(R"({"a":1})").value().at("a").as_int64() == 1);
  CHECK(parse_json_object("[1]").err().code == "invalid_json");
  CHECK(parse_json_object("{\"a\":").err().code == "invalid_json");
  CHECK(parse_json_object("{\"a\":\"\xc3\x28\"}").err().code == "invalid_json");
  auto dup = parse_json_object(R"({"a":[{"x":1},{"x":1,"x":2}]})");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.err().code == "duplicate_field");
  CHECK(dup.err().field == "a[1].x");
  CHECK(parse_json_object(R"({"a":{"b":1},"c":{"b":2}})").ok());  // same key, other objects
  std::string deep(40, '[');
  deep = "{\"a\":" + deep + std::string(40, ']') + "}";
  CHECK(parse_json_object(deep).err().code == "invalid_json");
}

TEST_CASE("input: command headers") {
  http_request req{http::verb::post, "/", 11};
  CHECK_FALSE(parse_if_match(req).value().has_value());
  req.set(http::field::if_match, "\"12\"");
  CHECK(parse_if_match(req).value() == 12u);
  req.set(http::field::if_match, "12");
  CHECK(parse_if_match(req).value() == 12u);
  for (const char* bad : {"*", "W/\"1\"", "\"-1\"", "\"\""}) {
    req.set(http::field::if_match, bad);
    CHECK(parse_if_match(req).err().field == "If-Match");
  }
  req.set("Idempotency-Key", "0192f0e0-0000-7000-8000-000000000001");
  CHECK(parse_idempotency_key(req).value().has_value());
  req.set("Idempotency-Key", "00000000-0000-0000-0000-000000000000");
  CHECK_FALSE(parse_idempotency_key(req).ok());
  req.set("X-On-Behalf-Of", "municipality:131016");
  CHECK(parse_on_behalf_of(req).value() == "municipality:131016");
  req.set("X-On-Behalf-Of", "課長");
  CHECK_FALSE(parse_on_behalf_of(req).ok());

  // A repeated header is refused, whatever its values: which one counts is not guessed.
  http_request twice{http::verb::post, "/", 11};
  twice.insert(http::field::if_match, "\"1\"");
  twice.insert(http::field::if_match, "\"1\"");
  twice.insert("Idempotency-Key", "0192f0e0-0000-7000-8000-000000000001");
  twice.insert("Idempotency-Key", "0192f0e0-0000-7000-8000-000000000002");
  twice.insert("X-On-Behalf-Of", "municipality:131016");
  twice.insert("X-On-Behalf-Of", "municipality:131024");
  CHECK(parse_if_match(twice).err().code == "duplicate_header");
  CHECK(parse_if_match(twice).err().field == "If-Match");
  CHECK(parse_idempotency_key(twice).err().code == "duplicate_header");
  CHECK(parse_on_behalf_of(twice).err().code == "duplicate_header");
}

}  // namespace kakehashi::api
