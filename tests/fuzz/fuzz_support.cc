#include "fuzz_support.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "api/token_store.h"

namespace kakehashi::fuzz {

namespace fs = std::filesystem;

void fail(std::string_view what) {
  std::cerr << "kakehashi fuzz: " << what << std::endl;
  std::abort();
}

namespace {

std::string scratch_root() {
  if (const char* root = std::getenv("KAKEHASHI_FUZZ_TMP"); root && *root) return root;
  std::error_code ec;
  if (fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return fs::temp_directory_path(ec).string();
}

// Removes kakehashi-fuzz-* directories whose owning process no longer exists.
void remove_stale(const std::string& root) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("kakehashi-fuzz-", 0) != 0) continue;
    auto dash = name.rfind('-');
    long pid = std::strtol(name.c_str() + dash + 1, nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
}

}  // namespace

std::string make_scratch_dir(std::string_view tag) {
  std::string root = scratch_root();
  remove_stale(root);
  std::string path =
      root + "/kakehashi-fuzz-" + std::string(tag) + "-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(path, ec);
  fs::create_directories(path, ec);
  if (ec) fail("cannot create the scratch directory " + path + ": " + ec.message());
  return path;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

const std::vector<fixed_token>& fixed_tokens() {
  static const std::vector<fixed_token> tokens = [] {
    auto bearer = [](std::string name) {
      name.resize(api::bearer_token_chars - api::bearer_prefix.size(), 'A');
      return std::string(api::bearer_prefix) + name;
    };
    return std::vector<fixed_token>{
        {access_role::admin, "", bearer("fuzzadmin")},
        {access_role::coordinator, "", bearer("fuzzcoordinator")},
        {access_role::municipality, std::string(fixed_lg_code), bearer("fuzzmunicipality")},
        {access_role::auditor, "", bearer("fuzzauditor")},
        {access_role::dashboard, "", bearer("fuzzdashboard")},
    };
  }();
  return tokens;
}

void write_token_file(const std::string& data_dir) {
  std::string content = "kakehashi-tokens\tv1\n";
  int n = 0;
  for (const auto& token : fixed_tokens()) {
    auto digest = api::digest_of_bearer(token.bearer);
    if (!digest) fail("a fixed token does not have a token's shape");
    std::string hex;
    for (auto byte : *digest) {
      char two[3];
      std::snprintf(two, sizeof two, "%02x", byte);
      hex += two;
    }
    std::string id = "01920000-0000-7000-8000-0000000f000" + std::to_string(++n);
    content += "issue\t" + id + "\t1700000000000000\t" + std::string(to_string(token.role)) + "\t" +
               (token.lg_code.empty() ? std::string("-") : token.lg_code) + "\t" + hex + "\tfuzz-" +
               std::string(to_string(token.role)) + "\n";
  }
  std::ofstream out(data_dir + "/" + std::string(api::token_file_name), std::ios::trunc);
  out << content;
  if (!out.flush()) fail("cannot write the token file");
}

namespace {

void must(command_service& service, std::string type, std::string_view target, std::string body,
          actor who = actor{"fuzz-seed", "coordinator", ""}) {
  command_request request;
  request.type = type;
  request.target_id = std::string(target);
  request.body_json = std::move(body);
  request.who = std::move(who);
  auto done = service.execute(std::move(request));
  if (!done) fail("seeding " + type + " failed: " + done.err().message);
}

}  // namespace

void seed_fixed_aggregates(command_service& service) {
  if (auto listed = list_reference_municipalities(service, now_micros()); !listed)
    fail("listing the municipalities failed: " + listed.err().message);
  const std::string lg(fixed_lg_code);
  must(service, "TalentRegistered", fixed_talent,
       R"({"display_name":"山田 花子","email":"hanako@example.jp","phone":"090-0000-0000",)"
       R"("employer":"Example KK","residence_area":"131016","role_categories":["rpa_specialist"],)"
       R"("skills":["figma"],"tiers":["hands_on"],)"
       R"("availability":{"hours_per_week":8,"work_forms":["remote"],"areas":["131016"]},)"
       R"("consent_version":"2024-04"})");
  must(service, "NeedOpened", fixed_need,
       R"({"lg_code":")" + lg + R"(","origin":"municipality_request","problem":"RPA"})");
  must(service, "HearingRecorded", fixed_need,
       R"({"hearing_id":")" + std::string(fixed_hearing) +
           R"(","held_on":"2025-05-01","attendees":["課長"],"notes":"notes","findings":"f"})");
  must(service, "RequirementsDefined", fixed_need,
       R"({"role_category":"rpa_specialist","tier":"hands_on","openings":2})");
  must(service, "CandidateIdentified", fixed_candidacy,
       R"({"talent_id":")" + std::string(fixed_talent) + R"(","need_id":")" +
           std::string(fixed_need) + R"(","direction":"need_driven","source":"scout"})");
  must(service, "TalentContacted", fixed_candidacy, "{}");
  must(service, "InterestConfirmed", fixed_candidacy, "{}");
  must(service, "ProposalSubmitted", fixed_candidacy, "{}");
  must(service, "MunicipalDecisionRecorded", fixed_candidacy,
       R"({"accepted":true,"decided_by":"officer"})", actor{"fuzz-officer", "municipality", ""});
  must(service, "AppointmentArranged", fixed_appointment,
       R"({"candidacy_id":")" + std::string(fixed_candidacy) +
           R"(","form":"remote","starts_on":"2025-06-01","ends_on":"2026-03-31",)"
           R"("hours_per_week":8,"scope":"RPA support"})");
}

}  // namespace kakehashi::fuzz
