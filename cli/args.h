// A small command-line parser: `--name value` options, `--flag` switches, positional words.
// Values are copied out; the parser does not keep argv.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "events/result.h"

namespace kakehashi::cli {

class args {
 public:
  // `flags` are the option names that take no value (e.g. "json").
  static result<args> parse(int argc, char** argv, int first, std::vector<std::string> flags = {});

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> get_all(const std::string& name) const;
  std::string get_or(const std::string& name, std::string fallback) const;
  // A non-negative integer option, or `fallback` when absent; an error when not a number.
  result<std::uint64_t> get_u64(const std::string& name, std::uint64_t fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::multimap<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace kakehashi::cli
