// Bodies of the commands most domain tests begin a placement with, shared by the engine,
// projection and API tests, so a change to the domain's payloads is made in one place.
#pragma once

#include <string>

namespace kakehashi::test {

inline constexpr const char* shibuya = "131130";
inline constexpr const char* tama = "132241";

inline std::string talent_registration_body(const std::string& email) {
  return R"({"display_name":"山田 花子","email":")" + email +
         R"(","phone":"090-0000-0000","employer":"Example KK","residence_area":"132241",)"
         R"("role_categories":["ui_ux_designer"],"skills":["figma"],"tiers":["hands_on"],)"
         R"("availability":{"hours_per_week":8,"work_forms":["remote"],"areas":["132241"]},)"
         R"("consent_version":"2024-04"})";
}

inline std::string need_opening_body(const std::string& lg_code,
                                     const std::string& origin = "municipality_request") {
  return R"({"lg_code":")" + lg_code + R"(","origin":")" + origin + R"(","problem":"RPA"})";
}

// A coordinator's talent-driven idea: the talent for a municipality that has no need yet.
inline std::string idea_body(const std::string& talent_id, const std::string& lg_code) {
  return R"({"talent_id":")" + talent_id + R"(","direction":"talent_driven","lg_code":")" +
         lg_code + R"(","source":"coordinator_idea"})";
}

}  // namespace kakehashi::test
