// Name validation: stream names, event types and categories.
#include "events/names.h"

#include <doctest/doctest.h>

#include <string>

namespace kakehashi {
namespace {

void check_rejected_stream(std::string_view name) {
  auto st = validate_stream_name(name);
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().kind == errc::invalid_argument);
  CHECK(st.err().field == "stream");
  CHECK_FALSE(st.err().message.empty());
}

void check_rejected_type(std::string_view type) {
  auto st = validate_type_name(type);
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().kind == errc::invalid_argument);
  CHECK(st.err().field == "type");
}

TEST_CASE("stream names of allowed characters and lengths are accepted") {
  for (const char* name : {"a", "Z", "7", "need-42", "need-0192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b",
                           "A.b:c_d-1", "municipality:13101", "snake_case.name", "x-y-z"}) {
    CAPTURE(name);
    CHECK(validate_stream_name(name).ok());
  }
  CHECK(validate_stream_name(std::string(max_stream_name_bytes, 'a')).ok());
  CHECK(max_stream_name_bytes == 200);
}

TEST_CASE("stream names that are empty, too long or have other characters are rejected") {
  check_rejected_stream("");
  check_rejected_stream(std::string(201, 'a'));
  check_rejected_stream(std::string(1000, 'a'));
  for (const char* name :
       {"$all", "$ce-need", "$", "need 42", "need/42", "need#1", "need@1", "need+1", "need,1",
        "need\t1", "need\n", "\xc3\xa9t\xc3\xa9", "need*", "need\\1", "n\"1", "need'1"}) {
    CAPTURE(name);
    check_rejected_stream(name);
  }
  check_rejected_stream(std::string_view("need\0x", 6));
  // One bad byte anywhere in a long name.
  std::string long_name(150, 'a');
  long_name[149] = '!';
  check_rejected_stream(long_name);
}

TEST_CASE("event types: a letter then letters, digits, underscore or dot") {
  for (const char* type : {"a", "Z", "NeedCreated", "need.created", "Need_Created_v2", "N1"}) {
    CAPTURE(type);
    CHECK(validate_type_name(type).ok());
  }
  CHECK(validate_type_name(std::string(max_type_name_bytes, 'T')).ok());
  CHECK(max_type_name_bytes == 128);

  check_rejected_type("");
  check_rejected_type(std::string(129, 'T'));
  for (const char* type : {"1Need", "_Need", ".Need", "Need-Created", "Need Created", "$Need",
                           "Need:Created", "Need/Created", "N\xc3\xa9"}) {
    CAPTURE(type);
    check_rejected_type(type);
  }
}

TEST_CASE("category_of is the part before the first dash") {
  CHECK(category_of("need-42") == "need");
  CHECK(category_of("need-0192a3b4-c5d6") == "need");
  CHECK(category_of("need") == "need");
  CHECK(category_of("a:b-c") == "a:b");
  CHECK(category_of("talent.profile-9") == "talent.profile");
  CHECK(category_of("x-") == "x");
  CHECK(category_of("") == "");
}

}  // namespace
}  // namespace kakehashi
