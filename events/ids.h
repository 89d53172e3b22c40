// Identifiers: 16-byte UUIDs (v7 when generated here: time-ordered, so new ids sort by creation
// time and keep RocksDB keys local). Values are plain data, freely copyable; generation is
// thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kakehashi {

struct uuid {
  std::array<std::uint8_t, 16> bytes{};

  bool is_nil() const;
  std::string to_string() const;  // canonical 8-4-4-4-12 lowercase hex
  std::string_view as_bytes() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  friend bool operator==(const uuid&, const uuid&) = default;
  friend auto operator<=>(const uuid&, const uuid&) = default;
};

// Parses the canonical textual form (case-insensitive); nullopt for anything else.
std::optional<uuid> parse_uuid(std::string_view text);
// Builds a uuid from exactly 16 raw bytes; nullopt for any other length.
std::optional<uuid> uuid_from_bytes(std::string_view raw);
// RFC 9562 version 7: 48-bit Unix milliseconds, then random bits.
uuid new_uuid_v7();

struct uuid_hash {
  std::size_t operator()(const uuid& id) const noexcept;
};

// Wall-clock time as microseconds since the Unix epoch (UTC); the unit of every stored time.
std::int64_t now_micros();

}  // namespace kakehashi
