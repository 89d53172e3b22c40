// What the libFuzzer targets of tests/fuzz share: scratch directories on tmpfs, bearer tokens
// with fixed secrets (so seed inputs can carry a valid Authorization header), and a store with a
// few aggregates under fixed ids that seeds can name.
//
// Every target is a plain LLVMFuzzerTestOneInput. Built with -DKAKEHASHI_FUZZ=ON (clang) it is a
// libFuzzer binary; in a normal build replay_main.cc drives it over its seed corpus under CTest.
// Targets keep their fixtures in function-local statics created on first use and torn down in
// order at exit; none is thread-safe (libFuzzer calls the target from one thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/command_service.h"
#include "events/roles.h"

namespace kakehashi::fuzz {

// Aborts with `what` on stderr: a broken promise the sanitizers cannot see (a 500 answer, a
// decode that rejects what the encoder produced). libFuzzer saves the input as a crash.
[[noreturn]] void fail(std::string_view what);

// A fresh directory under $KAKEHASHI_FUZZ_TMP, else /dev/shm (tmpfs, so fsync costs nothing),
// else the system's temporary directory, named after `tag` and this process. Directories left by
// earlier runs whose process is gone (a crash skips the cleanup) are removed first.
std::string make_scratch_dir(std::string_view tag);
void remove_tree(const std::string& path);

struct fixed_token {
  access_role role;
  std::string lg_code;  // for municipality
  std::string bearer;   // "kh_" + 43 characters, e.g. "kh_fuzzadminAAAA..."
};
// admin, coordinator, municipality 131016 (Chiyoda), auditor, dashboard; in that order.
const std::vector<fixed_token>& fixed_tokens();
// Writes <data_dir>/tokens.tsv holding fixed_tokens().
void write_token_file(const std::string& data_dir);

// Ids of the aggregates seed_fixed_aggregates creates.
inline constexpr std::string_view fixed_talent = "01920000-0000-7000-8000-00000000a001";
inline constexpr std::string_view fixed_need = "01920000-0000-7000-8000-00000000b001";
inline constexpr std::string_view fixed_hearing = "01920000-0000-7000-8000-00000000b002";
inline constexpr std::string_view fixed_candidacy = "01920000-0000-7000-8000-00000000c001";
inline constexpr std::string_view fixed_appointment = "01920000-0000-7000-8000-00000000d001";
inline constexpr std::string_view fixed_lg_code = "131016";

// Lists the 62 municipalities and walks one placement to an arranged appointment (talent,
// need with hearing and requirements, accepted candidacy, appointment) under the fixed ids.
// Aborts on failure: the fixture is broken, not the input.
void seed_fixed_aggregates(command_service& service);

}  // namespace kakehashi::fuzz
