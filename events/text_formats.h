// Shapes of the text values events carry: strict UTF-8, calendar dates and local government
// codes. Pure functions, thread-safe; shared by the payload codec and anything that parses the
// same values from a URL or query string.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kakehashi {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);
// The number of characters (code points) in valid UTF-8 `text`: what a user counts, whatever the
// script ("山田" is 2, not 6 bytes).
std::size_t code_points(std::string_view text);
// Appends `code` (a Unicode scalar value) to `out` as UTF-8.
void append_utf8(std::string& out, char32_t code);
// A character that has no place in stored text, and what kind of character it is.
struct disallowed_character {
  char32_t code;
  std::string_view kind;  // "control character", "line break", "noncharacter", ...
  // "the line break U+2028", for a message that names the field.
  std::string describe() const;
};
// The first character of valid UTF-8 `text` that has no place in stored text, if any: the one
// rule for every Text of a payload and every other text the engine stores (token names).
// - A C0 control, DEL or a C1 control. LF, CR, tab and the line and paragraph separators
//   (U+2028, U+2029) only when `multiline`: one line break in a name breaks every list and
//   export that shows it on one line.
// - A bidirectional embedding, override or isolate (U+202A-U+202E, U+2066-U+2069), which makes
//   text display in another order than it is stored ("invoice\u202Efdp.exe").
// - A noncharacter (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF), an interlinear annotation character
//   (U+FFF9-U+FFFB) or U+FEFF (byte order mark, zero-width no-break space): process-internal
//   or invisible markers that no user types into a name or a note.
std::optional<disallowed_character> disallowed_char(std::string_view text, bool multiline);
// Whether valid UTF-8 `text` is empty once trimmed: nothing but whitespace (Unicode White_Space,
// U+3000 included) and zero-width characters (U+200B-U+200D, U+2060).
bool is_blank(std::string_view text);
// YYYY-MM-DD naming a real day of the (proleptic) Gregorian calendar.
bool is_valid_date(std::string_view text);
// A 6-digit 全国地方公共団体コード: the last digit is the check digit of the first five
// (weights 6,5,4,3,2; check = (11 - sum % 11) % 10), so a mistyped code is caught before it
// keys anything.
bool is_valid_lg_code(std::string_view text);

// Looks like an email address: one '@' between a non-empty local part and a domain with a dot
// (not at either end, never two in a row), and no whitespace. Deliberately loose: whether mail
// arrives is only known by sending it.
bool is_email_like(std::string_view text);
// Looks like a phone number: digits, spaces, '-', '(' and ')', at least one digit, and '+' only
// as the first character ("+81 90-1234-5678", "(03) 1234-5678").
bool is_phone_like(std::string_view text);

// `text` as a JSON string literal, quotes included; control characters become \u escapes.
std::string json_quote(std::string_view text);

}  // namespace kakehashi
