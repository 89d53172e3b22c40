// Access roles: names, the municipality binding, and the permission rules per role.
#include "events/roles.h"

#include <doctest/doctest.h>

namespace kakehashi {
namespace {

principal as(access_role role, std::string lg_code = {}) {
  principal who;
  who.role = role;
  who.lg_code = std::move(lg_code);
  return who;
}

constexpr std::string_view chiyoda = "131016";   // valid check digit
constexpr std::string_view shinjuku = "131041";  // valid check digit

}  // namespace

TEST_CASE("roles: names round-trip and nothing else parses") {
  for (auto role : {access_role::admin, access_role::coordinator, access_role::municipality,
                    access_role::auditor, access_role::dashboard})
    CHECK(parse_access_role(to_string(role)) == role);
  CHECK_FALSE(parse_access_role("Admin").has_value());
  CHECK_FALSE(parse_access_role("").has_value());
  CHECK_FALSE(parse_access_role("admin ").has_value());
  CHECK_FALSE(parse_access_role("municipality:131016").has_value());
}

TEST_CASE("roles: a municipality needs a valid lg_code, other roles must have none") {
  CHECK(validate_role_binding(access_role::municipality, chiyoda).ok());

  auto missing = validate_role_binding(access_role::municipality, "");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.err().code == "lg_code_required");
  CHECK(missing.err().field == "lg_code");

  for (std::string_view bad : {"131017", "13101", "1310160", "13101a", " 131016"}) {
    auto st = validate_role_binding(access_role::municipality, bad);
    REQUIRE_FALSE(st.ok());
    CHECK(st.err().code == "invalid_lg_code");
    CHECK(st.err().kind == errc::invalid_argument);
  }

  for (auto role : {access_role::admin, access_role::coordinator, access_role::auditor,
                    access_role::dashboard}) {
    CHECK(validate_role_binding(role, "").ok());
    auto st = validate_role_binding(role, chiyoda);
    REQUIRE_FALSE(st.ok());
    CHECK(st.err().code == "lg_code_not_allowed");
  }
}

TEST_CASE("roles: who may write") {
  CHECK(can_write(as(access_role::admin), ""));
  CHECK(can_write(as(access_role::coordinator), chiyoda));
  CHECK(can_write(as(access_role::municipality, std::string(chiyoda)), chiyoda));
  CHECK_FALSE(can_write(as(access_role::municipality, std::string(chiyoda)), shinjuku));
  CHECK_FALSE(can_write(as(access_role::municipality, std::string(chiyoda)), ""));
  // A malformed principal without a code never matches "no municipality".
  CHECK_FALSE(can_write(as(access_role::municipality), ""));
  CHECK_FALSE(can_write(as(access_role::auditor), ""));
  CHECK_FALSE(can_write(as(access_role::dashboard), chiyoda));
}

TEST_CASE("roles: a municipality enters commands on behalf of itself only") {
  const auto office = as(access_role::municipality, std::string(chiyoda));
  CHECK(can_act_on_behalf_of(office, ""));
  CHECK(can_act_on_behalf_of(office, "municipality:" + std::string(chiyoda)));
  CHECK_FALSE(can_act_on_behalf_of(office, "municipality:" + std::string(shinjuku)));
  CHECK_FALSE(can_act_on_behalf_of(office, "officer:1"));
  CHECK_FALSE(can_act_on_behalf_of(office, std::string(chiyoda)));
  CHECK(
      can_act_on_behalf_of(as(access_role::coordinator), "municipality:" + std::string(shinjuku)));
}

TEST_CASE("roles: personal data, read-only roles, municipality scope, admin-only actions") {
  CHECK(can_read_personal_data(as(access_role::admin)));
  CHECK(can_read_personal_data(as(access_role::coordinator)));
  CHECK(can_read_personal_data(as(access_role::auditor)));
  CHECK_FALSE(can_read_personal_data(as(access_role::dashboard)));
  CHECK_FALSE(can_read_personal_data(as(access_role::municipality, std::string(chiyoda))));

  CHECK(is_read_only(as(access_role::auditor)));
  CHECK(is_read_only(as(access_role::dashboard)));
  CHECK_FALSE(is_read_only(as(access_role::admin)));
  CHECK_FALSE(is_read_only(as(access_role::coordinator)));
  CHECK_FALSE(is_read_only(as(access_role::municipality, std::string(chiyoda))));

  CHECK(can_read_municipality(as(access_role::dashboard), ""));
  CHECK(can_read_municipality(as(access_role::coordinator), shinjuku));
  CHECK(can_read_municipality(as(access_role::municipality, std::string(chiyoda)), chiyoda));
  CHECK_FALSE(can_read_municipality(as(access_role::municipality, std::string(chiyoda)), shinjuku));
  CHECK_FALSE(can_read_municipality(as(access_role::municipality, std::string(chiyoda)), ""));

  CHECK(can_manage_tokens(as(access_role::admin)));
  CHECK(can_erase_personal_data(as(access_role::admin)));
  for (auto role : {access_role::coordinator, access_role::auditor, access_role::dashboard}) {
    CHECK_FALSE(can_manage_tokens(as(role)));
    CHECK_FALSE(can_erase_personal_data(as(role)));
  }
  CHECK(can_verify_chain(as(access_role::auditor)));
  CHECK(can_verify_chain(as(access_role::admin)));
  CHECK_FALSE(can_verify_chain(as(access_role::coordinator)));
  CHECK_FALSE(can_verify_chain(as(access_role::dashboard)));
}

}  // namespace kakehashi
