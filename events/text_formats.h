// Shapes of the text values events carry: strict UTF-8, calendar dates and local government
// codes. Pure functions, thread-safe; shared by the payload codec and anything that parses the
// same values from a URL or query string.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kakehashi {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);
// The number of characters (code points) in valid UTF-8 `text`: what a user counts, whatever the
// script ("山田" is 2, not 6 bytes).
std::size_t code_points(std::string_view text);
// YYYY-MM-DD naming a real day of the (proleptic) Gregorian calendar.
bool is_valid_date(std::string_view text);
// A 6-digit 全国地方公共団体コード: the last digit is the check digit of the first five
// (weights 6,5,4,3,2; check = (11 - sum % 11) % 10), so a mistyped code is caught before it
// keys anything.
bool is_valid_lg_code(std::string_view text);

// `text` as a JSON string literal, quotes included; control characters become \u escapes.
std::string json_quote(std::string_view text);

}  // namespace kakehashi
