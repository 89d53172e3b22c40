#include "events/text_formats.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace kakehashi {
namespace {

bool all_digits(std::string_view text) {
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

int number(std::string_view digits) {
  int value = 0;
  for (char c : digits)
    value = value * 10 + (c - '0');
  return value;
}

// The code point at `i` of valid UTF-8 `text`; advances `i` past it. Never reads past the end,
// even of invalid text.
char32_t next_code_point(std::string_view text, std::size_t& i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  std::size_t extra = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
  extra = std::min(extra, text.size() - i - 1);
  char32_t code = extra == 0 ? c : c & (0x3f >> extra);
  for (std::size_t k = 1; k <= extra; ++k)
    code = code << 6 | (byte(i + k) & 0x3f);
  i += extra + 1;
  return code;
}

bool is_control(char32_t c) {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

bool is_line_break(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029;
}

bool is_bidi_control(char32_t c) {
  return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

// U+FDD0-U+FDEF and the last two code points of every plane: reserved for a process's internal
// use, never for interchange.
bool is_noncharacter(char32_t c) {
  return (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe;
}

bool is_interlinear_annotation(char32_t c) {
  return c >= 0xfff9 && c <= 0xfffb;
}

bool is_space_or_zero_width(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200d) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x2060 || c == 0x3000;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    std::uint32_t code;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      code = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      code = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;  // continuation byte first, overlong 2-byte lead (c0, c1), or > f4
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      code = code << 6 | (p[i] & 0x3f);
    }
    // Reject overlong 3- and 4-byte forms, UTF-16 surrogates and values past U+10FFFF.
    if ((extra == 2 && code < 0x800) || (extra == 3 && (code < 0x10000 || code > 0x10ffff)) ||
        (code >= 0xd800 && code <= 0xdfff))
      return false;
    p += extra + 1;
  }
  return true;
}

void append_utf8(std::string& out, char32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xc0 | code >> 6);
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xe0 | code >> 12);
    out += static_cast<char>(0x80 | (code >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | code >> 18);
    out += static_cast<char>(0x80 | (code >> 12 & 0x3f));
    out += static_cast<char>(0x80 | (code >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  }
}

std::size_t code_points(std::string_view text) {
  std::size_t count = 0;
  for (char c : text)
    count += (static_cast<unsigned char>(c) & 0xc0) != 0x80 ? 1 : 0;  // not a continuation byte
  return count;
}

std::string disallowed_character::describe() const {
  char hex[16];
  std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(code));
  return "the " + std::string(kind) + " " + hex;
}

std::optional<disallowed_character> disallowed_char(std::string_view text, bool multiline) {
  for (std::size_t i = 0; i < text.size();) {
    char32_t c = next_code_point(text, i);
    // Left allowed: U+200E, U+200F and U+061C (LRM, RLM, ALM). Each acts like one invisible
    // letter of its direction: it can move the neutral characters and digit groups beside it,
    // as any visible Arabic or Hebrew letter does, but never reverses letters the way an
    // override does ("invoice\u202Efdp.exe"). A name in Arabic or Hebrew script mixed with
    // digits or Latin letters may need one to show in the order it is read.
    if (is_line_break(c) && !multiline) return disallowed_character{c, "line break"};
    if (c == '\t' && !multiline) return disallowed_character{c, "tab"};
    if (is_control(c) && !is_line_break(c) && c != '\t')
      return disallowed_character{c, "control character"};
    if (is_bidi_control(c)) return disallowed_character{c, "bidirectional formatting character"};
    if (is_noncharacter(c)) return disallowed_character{c, "noncharacter"};
    if (is_interlinear_annotation(c))
      return disallowed_character{c, "interlinear annotation character"};
    if (c == 0xfeff) return disallowed_character{c, "byte order mark"};
  }
  return std::nullopt;
}

bool is_blank(std::string_view text) {
  for (std::size_t i = 0; i < text.size();)
    if (!is_space_or_zero_width(next_code_point(text, i))) return false;
  return true;
}

bool is_valid_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  auto y = text.substr(0, 4), m = text.substr(5, 2), d = text.substr(8, 2);
  if (!all_digits(y) || !all_digits(m) || !all_digits(d)) return false;
  int year = number(y), month = number(m), day = number(d);
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr int days_in_month[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int limit = days_in_month[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= limit;
}

bool is_valid_lg_code(std::string_view text) {
  if (text.size() != 6 || !all_digits(text)) return false;
  static constexpr int weights[] = {6, 5, 4, 3, 2};
  int sum = 0;
  for (int i = 0; i < 5; ++i)
    sum += (text[i] - '0') * weights[i];
  return text[5] - '0' == (11 - sum % 11) % 10;
}

bool is_email_like(std::string_view text) {
  auto at = text.find('@');
  if (at == 0 || at == std::string_view::npos || text.find('@', at + 1) != std::string_view::npos)
    return false;
  auto domain = text.substr(at + 1);
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos)
    return false;
  for (std::size_t i = 0; i < text.size();)
    if (is_space_or_zero_width(next_code_point(text, i))) return false;
  return true;
}

bool is_phone_like(std::string_view text) {
  bool digit = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    digit = digit || (c >= '0' && c <= '9');
    bool allowed = (c >= '0' && c <= '9') || c == ' ' || c == '-' || c == '(' || c == ')' ||
                   (c == '+' && i == 0);
    if (!allowed) return false;
  }
  return digit;
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + '"';
}

}  // namespace kakehashi
