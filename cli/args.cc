#include "cli/args.h"

#include <algorithm>
#include <charconv>

namespace kakehashi::cli {

result<args> args::parse(int argc, char** argv, int first, std::vector<std::string> flags) {
  args out;
  for (int i = first; i < argc; ++i) {
    std::string word = argv[i];
    if (word.rfind("--", 0) != 0) {
      out.positional_.push_back(word);
      continue;
    }
    std::string name = word.substr(2);
    if (auto eq = name.find('='); eq != std::string::npos) {
      out.values_.emplace(name.substr(0, eq), name.substr(eq + 1));
    } else if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
      out.values_.emplace(name, "true");
    } else if (i + 1 < argc) {
      out.values_.emplace(name, argv[++i]);
    } else {
      return make_error(errc::invalid_argument, "missing_value",
                        "option --" + name + " needs a value", name);
    }
  }
  return out;
}

std::optional<std::string> args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> args::get_all(const std::string& name) const {
  std::vector<std::string> out;
  auto [begin, end] = values_.equal_range(name);
  for (auto it = begin; it != end; ++it)
    out.push_back(it->second);
  return out;
}

std::string args::get_or(const std::string& name, std::string fallback) const {
  auto value = get(name);
  return value ? *value : std::move(fallback);
}

result<std::uint64_t> args::get_u64(const std::string& name, std::uint64_t fallback) const {
  auto value = get(name);
  if (!value) return fallback;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc{} || end != value->data() + value->size())
    return make_error(errc::invalid_argument, "not_a_number",
                      "option --" + name + " needs a non-negative integer", name);
  return n;
}

}  // namespace kakehashi::cli
