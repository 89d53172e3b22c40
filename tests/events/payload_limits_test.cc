// Per-field input limits of domain payloads (events/domain.capnp's annotations, checked by
// events/payload_validation.cc): text lengths in characters, list sizes. Each limit is accepted
// at exactly its maximum and refused one over, as invalid_value naming the field and the limit.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "events/event_codec.h"
#include "events/payload_validation.h"
#include "events/reference_data.h"
#include "events/text_formats.h"
#include "tests/events/evolution_test.capnp.h"

namespace kakehashi {
namespace {

// The parts joined (GCC 12 misreports `"literal" + std::string` under -Werror=restrict).
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

// `json` with its one '%' replaced by `value` (JSON text).
std::string with(std::string_view json, std::string_view value) {
  std::string out(json);
  auto at = out.find('%');
  REQUIRE(at != std::string::npos);
  return out.replace(at, 1, value);
}

std::string repeated(std::string_view piece, std::size_t times, std::string_view separator = "") {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) {
    if (i) out += separator;
    out += piece;
  }
  return out;
}

// A JSON array of `times` copies of `item` (JSON text).
std::string array_of(std::string_view item, std::size_t times) {
  std::string out = "[";
  out += repeated(item, times, ",");
  out += ']';
  return out;
}

// "key":"value" (neither needs escaping here).
std::string member(std::string_view key, std::string_view value) {
  std::string out = "\"";
  out += key;
  out += "\":\"";
  out += value;
  out += '"';
  return out;
}

void check_refused(std::string_view type, const std::string& json, std::string_view field,
                   std::string_view message_part) {
  auto encoded = encode_payload(type, json);
  REQUIRE_FALSE(encoded.ok());
  CHECK(encoded.err().kind == errc::invalid_argument);
  CHECK(encoded.err().code == "invalid_value");
  CHECK(encoded.err().field == field);
  CHECK(encoded.err().message.find(message_part) != std::string::npos);
}

void check_accepted(std::string_view type, const std::string& json) {
  auto encoded = encode_payload(type, json);
  if (!encoded)
    FAIL(encoded.err().code << " " << encoded.err().field << ": " << encoded.err().message);
}

std::string name_json(std::string_view name) {
  std::string out = R"({"email":"a@example.jp","consent_version":"1","display_name":")";
  out += name;
  out += "\"}";
  return out;
}

constexpr const char* registration =
    R"({"display_name":"山田 花子","email":"hanako@example.jp","consent_version":"2024-04",%})";
constexpr const char* hearing =
    R"({"hearing_id":"00000000-0000-7000-8000-0000000000a1","held_on":"2024-02-29",%})";
constexpr const char* requirements =
    R"({"role_category":"engineer","tier":"hands_on","openings":1,%})";

struct text_limit {
  const char* type;
  const char* json;  // '%' is where "key":"value" goes
  const char* key;
  const char* field;  // the error's field path
  std::size_t max;
};

TEST_CASE(
    "text fields are limited in characters, not bytes: the maximum is accepted, one more "
    "refused") {
  const text_limit limits[] = {
      {"TalentRegistered", R"({"email":"a@example.jp","consent_version":"1",%})", "display_name",
       "display_name", 100},
      {"TalentRegistered", registration, "employer", "employer", 100},
      {"TalentRegistered", R"({"display_name":"a","email":"a@example.jp",%})", "consent_version",
       "consent_version", 100},
      {"TalentProfileUpdated", "{%}", "display_name", "display_name", 100},
      {"MunicipalityContactAssigned", R"({"contact":{"name":"n",%}})", "title", "contact.title",
       100},
      {"NeedOpened", R"({"lg_code":"131016","origin":"talent_driven",%})", "problem", "problem",
       2000},
      {"HearingRecorded", hearing, "notes", "notes", 8000},
      {"HearingRecorded", hearing, "findings", "findings", 8000},
      {"PublicPostingPublished", "{%}", "url", "url", 2048},
      {"EventVoided", R"({"voided_event_id":"00000000-0000-7000-8000-000000000001",%})", "reason",
       "reason", 2000},
      {"AppointmentAmended",
       R"({"kind":"other","effective_on":"2025-04-01","approved_by":"課長","changes":{%}})",
       "summary", "changes.summary", 2000},
  };
  for (const auto& l : limits) {
    CAPTURE(l.type);
    CAPTURE(l.field);
    // 字 is three bytes of UTF-8: the limit counts it once.
    auto at_max = with(l.json, member(l.key, repeated("字", l.max)));
    auto over = with(l.json, member(l.key, repeated("字", l.max + 1)));
    check_accepted(l.type, at_max);
    check_refused(l.type, over, l.field, cat("at most ", std::to_string(l.max), " characters"));
  }
  // Each element of a list of text has the limit too.
  check_accepted("HearingRecorded",
                 with(hearing, cat(R"("attendees":["a",")", std::string(100, 's'), "\"]")));
  check_refused("HearingRecorded",
                with(hearing, cat(R"("attendees":["a",")", std::string(101, 's'), "\"]")),
                "attendees[1]", "at most 100 characters");
  // The reviewer's case: a 60 KB display name fits the 64 KiB body but not the field.
  check_refused("TalentRegistered", name_json(std::string(60'000, 'x')), "display_name",
                "at most 100 characters");
}

TEST_CASE("lists are limited in items: the maximum is accepted, one more refused") {
  const std::string talent_skills = with(registration, R"("skills":%)");
  const std::string talent_tiers = with(registration, R"("tiers":%)");
  const std::string update_roles = R"({"role_categories":%})";
  const std::string attendees = with(hearing, R"("attendees":%)");
  const std::string forms = R"({"availability":{"work_forms":%}})";
  const std::string areas = R"({"availability":{"areas":%}})";
  const std::string subjects =
      R"({"reader_id":"t","reader_role":"auditor","route":"GET /v1/events","subjects":%})";
  const struct {
    std::string_view type;
    const std::string& json;
    std::string_view field, item;
    std::size_t max;
  } cases[] = {
      {"TalentRegistered", talent_skills, "skills", "\"python\"", 50},
      {"TalentRegistered", talent_tiers, "tiers", "\"hands_on\"", 10},
      {"TalentProfileUpdated", update_roles, "role_categories", "\"engineer\"", 20},
      {"RequirementsDefined", with(requirements, R"("skills":%)"), "skills", "\"sql\"", 50},
      {"HearingRecorded", attendees, "attendees", "\"課長\"", 50},
      {"TalentAvailabilityChanged", forms, "availability.work_forms", "\"remote\"", 10},
      {"TalentAvailabilityChanged", areas, "availability.areas", "\"131016\"", 62},
      {"PersonalDataRead", subjects, "subjects", "\"talent-00000000-0000-7000-8000-000000000001\"",
       1000},
  };
  for (const auto& c : cases) {
    CAPTURE(c.type);
    CAPTURE(c.field);
    check_accepted(c.type, with(c.json, array_of(c.item, c.max)));
    check_refused(c.type, with(c.json, array_of(c.item, c.max + 1)), c.field,
                  cat("at most ", std::to_string(c.max), " items"));
  }
  // The reviewer's case: 5,000 skills.
  check_refused("TalentRegistered", with(talent_skills, array_of("\"x\"", 5000)), "skills",
                "at most 50 items");
}

// `code` as a JSON \u escape, a surrogate pair above U+FFFF.
std::string escape(char32_t code) {
  char out[16];
  if (code < 0x10000) {
    std::snprintf(out, sizeof out, "\\u%04x", static_cast<unsigned>(code));
  } else {
    code -= 0x10000;
    std::snprintf(out, sizeof out, "\\u%04x\\u%04x", static_cast<unsigned>(0xd800 + (code >> 10)),
                  static_cast<unsigned>(0xdc00 + (code & 0x3ff)));
  }
  return out;
}

// `code` as raw UTF-8, as a client that does not escape sends it.
std::string utf8(char32_t code) {
  std::string out;
  append_utf8(out, code);
  return out;
}

std::string hex_code(char32_t code) {
  char out[16];
  std::snprintf(out, sizeof out, "U+%04X", static_cast<unsigned>(code));
  return out;
}

std::string reason_json(std::string_view reason) {
  std::string out = R"({"reason":")";
  out += reason;
  out += "\"}";
  return out;
}

TEST_CASE("no text holds a C0 or C1 control or DEL, but multi-line text may hold LF, CR and tab") {
  std::vector<char32_t> controls;
  for (char32_t c = 0; c < 0x20; ++c)
    controls.push_back(c);
  for (char32_t c = 0x7f; c <= 0x9f; ++c)
    controls.push_back(c);
  for (char32_t c : controls) {
    CAPTURE(static_cast<unsigned>(c));
    auto code = hex_code(c);
    check_refused("TalentRegistered", name_json(cat("山田", escape(c), "花子")), "display_name",
                  code);
    if (c == '\n' || c == '\r' || c == '\t')
      check_accepted("NeedPutOnHold", reason_json(cat("一行目", escape(c), "二行目")));
    else
      check_refused("NeedPutOnHold", reason_json(cat("一行目", escape(c), "二行目")), "reason",
                    code);
  }
  // Raw, not only escaped: U+0085 (NEL) is plain UTF-8 in a JSON string.
  check_refused("NeedPutOnHold", reason_json("a\xc2\x85z"), "reason", "U+0085");
  // Elements of lists and nested fields too.
  check_refused("HearingRecorded", with(hearing, R"("attendees":["ok","bad\u0007"])"),
                "attendees[1]", "U+0007");
  check_refused("MunicipalityContactAssigned", R"({"contact":{"name":"a\u001bb"}})", "contact.name",
                "U+001B");
  // The edges of the ranges are ordinary characters.
  check_accepted("TalentRegistered", name_json(cat("~", escape(0xa0), "x")));
}

TEST_CASE("no text holds a bidirectional embedding, override or isolate") {
  for (char32_t c : {0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069}) {
    CAPTURE(static_cast<unsigned>(c));
    auto code = hex_code(c);
    check_refused("TalentRegistered", name_json(cat("山田", escape(c), "花子")), "display_name",
                  code);
    check_refused("NeedPutOnHold", reason_json(cat("a", escape(c), "z")), "reason", code);
  }
  // Raw UTF-8 as well (U+202E is E2 80 AE).
  check_refused("TalentRegistered",
                name_json("invoice\xe2\x80\xae"
                          "fdp.exe"),
                "display_name", "U+202E");
  // Their neighbours are not: U+202F, U+2065 and U+206A (U+2029 is a line break, below).
  for (char32_t c : {0x202f, 0x2065, 0x206a}) {
    CAPTURE(static_cast<unsigned>(c));
    check_accepted("TalentRegistered", name_json(cat("a", escape(c), "z")));
  }
}

TEST_CASE("the line and paragraph separators are line breaks: only multi-line text holds them") {
  for (char32_t c : {0x2028, 0x2029}) {
    CAPTURE(static_cast<unsigned>(c));
    auto code = hex_code(c);
    for (const auto& raw : {escape(c), utf8(c)}) {
      check_refused("TalentRegistered", name_json(cat("山田", raw, "花子")), "display_name",
                    cat("line break ", code));
      check_refused("NeedOpened",
                    cat(R"({"lg_code":"131016","origin":"municipality_request","problem":"p",)",
                        R"("department":"DX)", raw, "推進課\"}"),
                    "department", code);
      check_refused("HearingRecorded", with(hearing, cat(R"("attendees":["ok","a)", raw, "b\"]")),
                    "attendees[1]", code);
      check_accepted("NeedPutOnHold", reason_json(cat("一行目", raw, "二行目")));
    }
  }
  // LF and CR in a single-line field are named as line breaks too, the tab as itself.
  check_refused("TalentRegistered", name_json(cat("a", escape('\n'), "z")), "display_name",
                "line break U+000A");
  check_refused("TalentRegistered", name_json(cat("a", escape('\t'), "z")), "display_name",
                "tab U+0009");
}

TEST_CASE("no text holds a noncharacter, an interlinear annotation character or U+FEFF") {
  const std::vector<char32_t> refused = {0xfdd0,   0xfdd1,  0xfdef,  0xfffe,  0xffff,  0x1fffe,
                                         0x1ffff,  0x2fffe, 0xefffe, 0xeffff, 0xffffe, 0x10fffe,
                                         0x10ffff, 0xfff9,  0xfffa,  0xfffb,  0xfeff};
  for (char32_t c : refused) {
    CAPTURE(static_cast<unsigned>(c));
    auto code = hex_code(c);
    for (const auto& raw : {escape(c), utf8(c)}) {
      // Single-line and multi-line text alike, at either end or inside.
      check_refused("TalentRegistered", name_json(cat("山田", raw, "花子")), "display_name", code);
      check_refused("TalentRegistered", name_json(cat(raw, "山田")), "display_name", code);
      check_refused("NeedPutOnHold", reason_json(cat("a", raw)), "reason", code);
      check_refused("MunicipalityContactAssigned", cat(R"({"contact":{"name":"a)", raw, "\"}}"),
                    "contact.name", code);
    }
  }
  check_refused("TalentRegistered", name_json(escape(0xfdd0)), "display_name", "noncharacter");
  check_refused("TalentRegistered", name_json(escape(0x10ffff)), "display_name", "noncharacter");
  check_refused("TalentRegistered", name_json(escape(0xfffa)), "display_name",
                "interlinear annotation character");
  check_refused("NeedPutOnHold", reason_json(escape(0xfeff)), "reason", "byte order mark");
  // Their neighbours are ordinary characters: the Arabic presentation forms around U+FDD0-U+FDEF,
  // U+FFF8, the replacement characters U+FFFC and U+FFFD, U+FEFE and U+FF00, the last
  // characters of a plane before its noncharacters, and 𠀀 (U+20000, in Japanese names).
  for (char32_t c : {0xfdcf, 0xfdf0, 0xfff8, 0xfffc, 0xfffd, 0xfefe, 0xff00, 0x1fffd, 0x10fffd,
                     0x10000, 0x20000}) {
    CAPTURE(static_cast<unsigned>(c));
    check_accepted("TalentRegistered", name_json(cat("a", escape(c), "z")));
    check_accepted("TalentRegistered", name_json(cat("a", utf8(c), "z")));
    check_accepted("NeedPutOnHold", reason_json(cat("a", escape(c), "z")));
  }
}

TEST_CASE("the marks LRM, RLM and ALM are allowed: names in Arabic or Hebrew script need them") {
  // Unlike an override or isolate, one cannot reverse letters (text_formats.cc says why).
  for (char32_t c : {0x200e, 0x200f, 0x061c}) {
    CAPTURE(static_cast<unsigned>(c));
    check_accepted("TalentRegistered", name_json(cat("שרה", escape(c), " 2")));
    check_accepted("TalentRegistered", name_json(cat("ليلى", utf8(c), " Ltd")));
    check_accepted("NeedPutOnHold", reason_json(cat("a", escape(c), "z")));
  }
}

TEST_CASE(
    "required text is refused when it is empty once whitespace and zero-width characters "
    "are trimmed") {
  for (std::string blank : {std::string(""), std::string(" "), escape(0x3000), escape(0x200b),
                            cat(" ", escape(0x3000), escape(0x200b), escape(0x200c), escape(0x200d),
                                escape(0x2060), escape(0xa0), escape(0x2003))}) {
    CAPTURE(blank);
    check_refused("TalentRegistered", name_json(blank), "display_name", "only whitespace");
    check_refused("MunicipalityContactAssigned", cat(R"({"contact":{"name":")", blank, "\"}}"),
                  "contact.name", "only whitespace");
    // $notBlank: optional, but a present name replaces the registered one.
    check_refused("TalentProfileUpdated", cat(R"({"display_name":")", blank, "\"}"), "display_name",
                  "only whitespace");
  }
  // Multi-line required text: line breaks and tabs are whitespace too.
  check_refused("TalentPersonalDataErased", reason_json(R"(\n\t\r )"), "reason", "only whitespace");
  // Spaces inside or around a name are kept as they are: only a name of nothing else is refused.
  check_accepted("TalentRegistered", name_json(cat("山田", escape(0x3000), "花子")));
  check_accepted("TalentRegistered", name_json(" 山田 花子 "));
  // Optional text may be left empty, even if the client sends spaces.
  check_accepted("NeedPutOnHold", reason_json(""));
  check_accepted("NeedPutOnHold", reason_json(escape(0x3000)));
}

TEST_CASE("email must look like an address, wherever it is asked for") {
  for (const char* email : {"hanako@example.jp", "hanako.yamada+kakehashi@mail.example.co.jp",
                            "a@b.jp", "山田@例え.jp"}) {
    CAPTURE(email);
    check_accepted("TalentRegistered", cat(R"({"display_name":"n","consent_version":"1",)",
                                           R"("email":")", email, "\"}"));
    check_accepted("TalentProfileUpdated", cat(R"({"email":")", email, "\"}"));
  }
  for (std::string email :
       {std::string("not an email"), std::string("hanako"), std::string("@example.jp"),
        std::string("hanako@"), std::string("hanako@localhost"), std::string("a@b@example.jp"),
        std::string("hanako @example.jp"), std::string("hanako@example.jp "),
        std::string("hanako@.example.jp"), std::string("hanako@example.jp."),
        std::string("hanako@example..jp"), cat("hanako", escape(0x3000), "@example.jp"),
        cat("hanako", escape(0x200b), "@example.jp")}) {
    CAPTURE(email);
    check_refused("TalentRegistered",
                  cat(R"({"display_name":"n","consent_version":"1","email":")", email, "\"}"),
                  "email", "email address");
    check_refused("TalentProfileUpdated", cat(R"({"email":")", email, "\"}"), "email",
                  "email address");
    check_refused("MunicipalityContactAssigned",
                  cat(R"({"contact":{"name":"n","email":")", email, "\"}}"), "contact.email",
                  "email address");
  }
  // An empty optional email is not an address either (omit it or send null).
  check_refused("TalentProfileUpdated", R"({"email":""})", "email", "email address");
}

TEST_CASE("phone must look like a phone number, wherever it is asked for") {
  for (const char* phone : {"090-1234-5678", "+81 90-1234-5678", "(03) 1234-5678", "0312345678"}) {
    CAPTURE(phone);
    check_accepted("TalentProfileUpdated", cat(R"({"phone":")", phone, "\"}"));
    check_accepted("MunicipalityContactAssigned",
                   cat(R"({"contact":{"name":"n","phone":")", phone, "\"}}"));
  }
  // Full-width digits (０９０) are not read as digits: the number is for dialling, so it is
  // refused rather than silently converted.
  for (const char* phone : {"not a phone", "090-1234-5678 ext. 2", "+", "---", "81+90-1234",
                            "０９０-１２３４-５６７８", "090.1234.5678", ""}) {
    CAPTURE(phone);
    check_refused("TalentRegistered", with(registration, cat(R"("phone":")", phone, "\"")), "phone",
                  "phone number");
    check_refused("MunicipalityContactAssigned",
                  cat(R"({"contact":{"name":"n","phone":")", phone, "\"}}"), "contact.phone",
                  "phone number");
  }
}

TEST_CASE("role categories must be codes of the taxonomy's roles") {
  REQUIRE(role_categories().size() == 12);
  for (const auto& code : role_categories()) {
    CAPTURE(code);
    check_accepted("RequirementsDefined",
                   cat(R"({"tier":"hands_on","openings":1,"role_category":")", code, "\"}"));
    check_accepted("TalentProfileUpdated",
                   cat(R"({"role_categories":["engineer",")", code, "\"]}"));
  }
  // The reviewer's full-width label, the label itself, an abbreviation, another case, a skill.
  for (const char* bad :
       {"ＵＩ／ＵＸデザイナー", "UI/UXデザイナー", "pm", "Engineer", "engineer ", "figma"}) {
    CAPTURE(bad);
    check_refused("RequirementsDefined",
                  cat(R"({"tier":"hands_on","openings":1,"role_category":")", bad, "\"}"),
                  "role_category", "reference/taxonomy.tsv");
    check_refused("TalentRegistered",
                  with(registration, cat(R"("role_categories":["engineer",")", bad, "\"]")),
                  "role_categories[1]", "ui_ux_designer");
  }
}

TEST_CASE("skills must be codes of the taxonomy's skills") {
  REQUIRE(skills().size() == 32);
  for (const auto& code : skills()) {
    CAPTURE(code);
    check_accepted("RequirementsDefined", with(requirements, cat(R"("skills":[")", code, "\"]")));
    check_accepted("TalentRegistered",
                   with(registration, cat(R"("skills":["python",")", code, "\"]")));
    check_accepted("TalentProfileUpdated", cat(R"({"skills":["figma",")", code, "\"]}"));
  }
  // Free text that never matched a need's code: a tool, a label, another case, a role, nothing.
  for (const char* bad :
       {"uipath", "ux", "Python", "python ", "プロジェクト管理", "engineer", ""}) {
    CAPTURE(bad);
    check_refused("RequirementsDefined", with(requirements, cat(R"("skills":[")", bad, "\"]")),
                  "skills[0]", "reference/taxonomy.tsv");
    check_refused("TalentRegistered",
                  with(registration, cat(R"("skills":["python",")", bad, "\"]")), "skills[1]",
                  "must be a skill");
    check_refused("TalentProfileUpdated", cat(R"({"skills":["rpa","sql",")", bad, "\"]}"),
                  "skills[2]", "accessibility");
  }
}

TEST_CASE("every text and list field of every event type has a limit") {
  for (const auto& info : event_types()) {
    CAPTURE(info.type);
    CHECK(detail::unbounded_fields(info.public_schema).empty());
    if (info.personal_schema) CHECK(detail::unbounded_fields(*info.personal_schema).empty());
  }
  // The check does find them: the evolution test's schema declares no limits.
  CHECK(detail::unbounded_fields(capnp::Schema::from<evolution_test::NeedOpened>()) ==
        std::vector<std::string>{"lgCode", "department", "problem", "tags", "tags[]"});
}

}  // namespace
}  // namespace kakehashi
