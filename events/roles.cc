#include "events/roles.h"

#include "events/text_formats.h"

namespace kakehashi {

std::string_view to_string(access_role role) {
  switch (role) {
    case access_role::admin:
      return "admin";
    case access_role::coordinator:
      return "coordinator";
    case access_role::municipality:
      return "municipality";
    case access_role::auditor:
      return "auditor";
    case access_role::dashboard:
      return "dashboard";
  }
  return "unknown";
}

std::optional<access_role> parse_access_role(std::string_view text) {
  for (auto role : {access_role::admin, access_role::coordinator, access_role::municipality,
                    access_role::auditor, access_role::dashboard})
    if (text == to_string(role)) return role;
  return std::nullopt;
}

status validate_role_binding(access_role role, std::string_view lg_code) {
  if (role == access_role::municipality) {
    if (lg_code.empty())
      return make_error(errc::invalid_argument, "lg_code_required",
                        "a municipality role needs the municipality's lg_code", "lg_code");
    if (!is_valid_lg_code(lg_code))
      return make_error(errc::invalid_argument, "invalid_lg_code",
                        "lg_code must be a 6-digit local government code with a valid check digit",
                        "lg_code");
    return {};
  }
  if (!lg_code.empty())
    return make_error(errc::invalid_argument, "lg_code_not_allowed",
                      "only a municipality role is bound to an lg_code", "lg_code");
  return {};
}

bool can_write(const principal& who, std::string_view lg_code) {
  switch (who.role) {
    case access_role::admin:
    case access_role::coordinator:
      return true;
    // An empty code must not match a (malformed) principal without one.
    case access_role::municipality:
      return !lg_code.empty() && lg_code == who.lg_code;
    case access_role::auditor:
    case access_role::dashboard:
      return false;
  }
  return false;
}

bool can_act_on_behalf_of(const principal& who, std::string_view on_behalf_of) {
  if (who.role != access_role::municipality || on_behalf_of.empty()) return true;
  constexpr std::string_view prefix = "municipality:";
  return on_behalf_of.size() == prefix.size() + who.lg_code.size() &&
         on_behalf_of.substr(0, prefix.size()) == prefix &&
         on_behalf_of.substr(prefix.size()) == who.lg_code;
}

bool can_read_personal_data(const principal& who) {
  return who.role == access_role::admin || who.role == access_role::coordinator ||
         who.role == access_role::auditor;
}

bool is_read_only(const principal& who) {
  return who.role == access_role::auditor || who.role == access_role::dashboard;
}

bool can_read_municipality(const principal& who, std::string_view lg_code) {
  if (who.role != access_role::municipality) return true;
  return !lg_code.empty() && lg_code == who.lg_code;
}

bool can_manage_tokens(const principal& who) {
  return who.role == access_role::admin;
}

bool can_erase_personal_data(const principal& who) {
  return who.role == access_role::admin;
}

bool can_verify_chain(const principal& who) {
  return who.role == access_role::admin || who.role == access_role::auditor;
}

}  // namespace kakehashi
