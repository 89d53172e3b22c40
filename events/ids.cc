#include "events/ids.h"

#include <chrono>
#include <cstring>
#include <random>

namespace kakehashi {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::mt19937_64& thread_rng() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return rng;
}

}  // namespace

bool uuid::is_nil() const {
  for (auto b : bytes)
    if (b != 0) return false;
  return true;
}

std::string uuid::to_string() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 0xf]);
  }
  return out;
}

std::optional<uuid> parse_uuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  uuid id;
  std::size_t out = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int hi = hex_value(text[i]);
    int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[out++] = static_cast<std::uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return id;
}

std::optional<uuid> uuid_from_bytes(std::string_view raw) {
  if (raw.size() != 16) return std::nullopt;
  uuid id;
  std::memcpy(id.bytes.data(), raw.data(), 16);
  return id;
}

uuid new_uuid_v7() {
  uuid id;
  auto ms = static_cast<std::uint64_t>(now_micros() / 1000);
  for (int i = 0; i < 6; ++i)
    id.bytes[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  std::uint64_t r1 = thread_rng()();
  std::uint64_t r2 = thread_rng()();
  std::memcpy(id.bytes.data() + 6, &r1, 2);
  std::memcpy(id.bytes.data() + 8, &r2, 8);
  id.bytes[6] = static_cast<std::uint8_t>(0x70 | (id.bytes[6] & 0x0f));  // version 7
  id.bytes[8] = static_cast<std::uint8_t>(0x80 | (id.bytes[8] & 0x3f));  // RFC 9562 variant
  return id;
}

std::size_t uuid_hash::operator()(const uuid& id) const noexcept {
  std::uint64_t a, b;
  std::memcpy(&a, id.bytes.data(), 8);
  std::memcpy(&b, id.bytes.data() + 8, 8);
  return static_cast<std::size_t>(a * 0x9e3779b97f4a7c15ULL ^ b);
}

std::int64_t now_micros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace kakehashi
