// Who may do what: the access roles, the principal a request acts as, and the permission rules
// as pure functions. No IO, no state; thread-safe. Transport layers authenticate (api/) and then
// ask these functions; the rules themselves live only here so every layer applies the same ones.
//
// Roles (DESIGN.md, "Security model"):
//   admin         everything, including issuing and revoking tokens and erasing personal data
//   coordinator   runs the matching: writes anywhere, reads personal data
//   municipality  bound to one local government code: writes only what concerns that
//                 municipality; sees personal data only as a proposal shares it (decided by the
//                 projection that builds the proposal, not here)
//   auditor       read-only, full history, personal data included (such reads are logged)
//   dashboard     read-only, never personal data
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/ids.h"
#include "events/result.h"

namespace kakehashi {

// Stored in the token file by name, never by number; the values are fixed anyway.
enum class access_role : std::uint8_t {
  admin = 1,
  coordinator = 2,
  municipality = 3,
  auditor = 4,
  dashboard = 5,
};

std::string_view to_string(access_role role);
// Exact, lowercase names as above; nullopt for anything else.
std::optional<access_role> parse_access_role(std::string_view text);

// The municipality binding a role needs: a municipality role needs a valid lg_code
// (is_valid_lg_code); every other role must have none. Errors are invalid_argument with
// field "lg_code".
status validate_role_binding(access_role role, std::string_view lg_code);

// Who a request acts as, once its token has been checked. Plain data.
struct principal {
  uuid token_id;
  access_role role = access_role::dashboard;
  std::string lg_code;  // only for municipality
  std::string name;     // a label chosen when the token was issued; not personal data
};

// May append commands concerning `lg_code` ("" when the command concerns no single
// municipality, e.g. registering a talent). A municipality only for its own code.
bool can_write(const principal& who, std::string_view lg_code);
// May enter a command on behalf of `on_behalf_of` (X-On-Behalf-Of; "" for nobody). A
// municipality only for itself ("municipality:<its lg_code>"): naming another would record its
// command as entered on that one's behalf. Everyone else for whom they like.
bool can_act_on_behalf_of(const principal& who, std::string_view on_behalf_of);
// May read talents' personal data in full (admin, coordinator, auditor). A municipality sees
// only what a proposal shares with it; a dashboard never sees any.
bool can_read_personal_data(const principal& who);
// Read-only roles (auditor, dashboard): no command is ever accepted from them.
bool is_read_only(const principal& who);
// May read views of `lg_code` ("" for views across all municipalities). A municipality only its
// own; everyone else all.
bool can_read_municipality(const principal& who, std::string_view lg_code);
// Issuing and revoking tokens, erasing a talent's personal data: admin only.
bool can_manage_tokens(const principal& who);
bool can_erase_personal_data(const principal& who);
// GET /v1/audit/verify: admin and auditor.
bool can_verify_chain(const principal& who);

}  // namespace kakehashi
