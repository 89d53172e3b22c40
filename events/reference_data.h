// Reference data shipped inside the binary: the 62 municipalities of Tokyo
// (reference/tokyo_municipalities.tsv) and the role/skill taxonomy (reference/taxonomy.tsv). Both
// files are compiled in at build time, so the product needs nothing beside the binary at run time;
// extending them is an edit of the data files, not of code. Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "events/result.h"

namespace kakehashi {

struct municipality_ref {
  std::string lg_code, name_ja, name_en, kind, region;
};
struct taxonomy_entry {
  std::string kind;  // role | skill
  std::string code, name_ja, name_en;
};

// Parsers for the two formats (a header line, then tab-separated lines); each line is
// validated (lg_code check digit, known kind, no duplicate code). Exposed for tests.
result<std::vector<municipality_ref>> parse_municipalities(std::string_view tsv);
result<std::vector<taxonomy_entry>> parse_taxonomy(std::string_view tsv);

// The shipped data, parsed once. A malformed shipped file fails the build's tests, not here.
const std::vector<municipality_ref>& tokyo_municipalities();
const std::vector<taxonomy_entry>& taxonomy();
// Whether `lg_code` is one of the shipped municipalities: a valid check digit is not enough
// ("271004" is Osaka's). Every lg_code in a payload must be one.
bool is_tokyo_municipality(std::string_view lg_code);
// Whether `code` is the code of a role in the shipped taxonomy ("ui_ux_designer", not its label
// "UI/UXデザイナー"): every role_category in a payload must be one.
bool is_role_category(std::string_view code);
// The shipped role codes, in the file's order (for error messages).
const std::vector<std::string>& role_categories();
// Whether `code` is the code of a skill in the shipped taxonomy ("python", not "Python"): every
// element of a skills list in a payload must be one, so a talent's skill and a need's match.
bool is_skill(std::string_view code);
// The shipped skill codes, in the file's order (for error messages).
const std::vector<std::string>& skills();

}  // namespace kakehashi
