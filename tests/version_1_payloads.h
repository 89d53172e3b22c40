// Payloads as schema_version 1 stored them, before their free text became personal data (the
// text in the public struct, nothing sealed), shared by the codec's tests
// (tests/events/schema_evolution_test.cc, which checks the bytes against the version 1 schema)
// and the engine's (tests/engine/personal_data_test.cc, which stores them and reads them back).
// The record_decode fuzz corpus holds the first two as seeds too.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kakehashi::test {

// A TalentPaused {"reason":"育児のため一時休止"}.
inline constexpr std::string_view paused_v1_hex =
    "0000000006000000000000000000010001000000e2000000e882b2e58590e381aee3819fe38281e4b880e6"
    "9982e4bc91e6ada20000000000";

// An AppointmentSuspended {"reason":"体調不良のため休職"}.
inline constexpr std::string_view suspended_v1_hex =
    "0000000006000000000000000000010001000000e2000000e4bd93e8aabfe4b88de889afe381aee3819fe38281e4"
    "bc91e881b70000000000";

// An IssueRaised {"issue_id":"00000000-0000-7000-8000-0000000000e1","summary":"通院で欠勤が続く"}.
inline constexpr std::string_view issue_v1_hex =
    "000000000c0000000000000000000200050000002a01000015000000ca00000030303030303030302d3030303"
    "02d373030302d383030302d30303030303030303030653100000000e9809ae999a2e381a7e6aca0e58ba4e3818c"
    "e7b69ae3818f0000000000000000";

// Lower-case hex to bytes.
inline std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
  return out;
}

}  // namespace kakehashi::test
