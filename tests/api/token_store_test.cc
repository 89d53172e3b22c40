// The token file (api/token_store.h): round trip, digests only at rest, torn and corrupt lines,
// revocation, validation, size limits and concurrent writers. Real files in a temp directory.
#include "api/token_store.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "test_support.h"

namespace kakehashi::test {

namespace {

using api::token_grant;
using api::token_store;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

void append_raw(const std::string& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

void write_raw(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

token_grant grant(access_role role, std::string lg_code = {}, std::string name = "test") {
  return token_grant{role, std::move(lg_code), std::move(name)};
}

constexpr const char* chiyoda = "131016";

}  // namespace

TEST_CASE("token store: issued tokens load back with their role, binding and name") {
  temp_dir dir;
  token_store store(dir.path() + "/data");  // the directory is created on first issue
  auto admin = store.issue(grant(access_role::admin, "", "ops"));
  REQUIRE(admin.ok());
  auto city = store.issue(grant(access_role::municipality, chiyoda, "千代田区 窓口"));
  REQUIRE(city.ok());
  CHECK(admin->bearer.size() == api::bearer_token_chars);
  CHECK(admin->bearer.rfind("kh_", 0) == 0);
  CHECK(admin->bearer != city->bearer);
  CHECK(admin->record.id != city->record.id);

  auto table = store.load();
  REQUIRE(table.ok());
  REQUIRE(table->records().size() == 2);
  const auto& r = table->records()[1];
  CHECK(r.id == city->record.id);
  CHECK(r.role == access_role::municipality);
  CHECK(r.lg_code == chiyoda);
  CHECK(r.name == "千代田区 窓口");
  CHECK(r.created_at == city->record.created_at);
  CHECK_FALSE(r.revoked);

  // The presented token finds its record; anything else finds nothing.
  auto digest = api::digest_of_bearer(city->bearer);
  REQUIRE(digest.has_value());
  REQUIRE(table->find(*digest) != nullptr);
  CHECK(table->find(*digest)->id == city->record.id);
  std::string altered = city->bearer;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  auto other = api::digest_of_bearer(altered);
  REQUIRE(other.has_value());
  CHECK(table->find(*other) == nullptr);
  CHECK_FALSE(api::digest_of_bearer("kh_short").has_value());
  CHECK_FALSE(api::digest_of_bearer(city->bearer + "x").has_value());
  std::string other_prefix = city->bearer;
  other_prefix[0] = 'x';
  CHECK_FALSE(api::digest_of_bearer(other_prefix).has_value());
  std::string bad_char = city->bearer;
  bad_char[10] = '+';
  CHECK_FALSE(api::digest_of_bearer(bad_char).has_value());
}

TEST_CASE("token store: the token itself never reaches the file, only its digest") {
  temp_dir dir;
  token_store store(dir.path());
  auto issued = store.issue(grant(access_role::coordinator));
  REQUIRE(issued.ok());
  std::string content = read_file(store.path());
  CHECK(content.find(issued->bearer) == std::string::npos);
  CHECK(content.find(issued->bearer.substr(api::bearer_prefix.size())) == std::string::npos);
  CHECK(content.find(issued->bearer.substr(3, 16)) == std::string::npos);  // not even a part
  CHECK(content.find(issued->record.id.to_string()) != std::string::npos);
}

TEST_CASE("token store: an unterminated last line is ignored, then cut off by the next writer") {
  temp_dir dir;
  token_store store(dir.path());
  auto first = store.issue(grant(access_role::coordinator));
  REQUIRE(first.ok());
  std::string whole = read_file(store.path());
  // A writer that died mid-line: part of an issue line, no newline.
  append_raw(store.path(), "issue\t0192aaaa-aaaa-7aaa-8aaa-aaaaaaaaaaaa\t17000");

  auto table = store.load();
  REQUIRE(table.ok());
  CHECK(table->records().size() == 1);

  auto second = store.issue(grant(access_role::auditor));
  REQUIRE(second.ok());
  std::string after = read_file(store.path());
  CHECK(after.rfind(whole, 0) == 0);  // what was whole is untouched
  CHECK(after.find("17000") == std::string::npos);
  table = store.load();
  REQUIRE(table.ok());
  REQUIRE(table->records().size() == 2);
  CHECK(table->records()[1].id == second->record.id);
}

TEST_CASE("token store: a torn header alone is an empty file") {
  temp_dir dir;
  token_store store(dir.path());
  write_raw(store.path(), "kakehashi-tok");
  auto table = store.load();
  REQUIRE(table.ok());
  CHECK(table->records().empty());
  auto issued = store.issue(grant(access_role::admin));
  REQUIRE(issued.ok());
  REQUIRE(store.load().ok());
  CHECK(read_file(store.path()).rfind("kakehashi-tokens\tv1\n", 0) == 0);
}

TEST_CASE("token store: revocation is durable, idempotent and only for known ids") {
  temp_dir dir;
  token_store store(dir.path());
  auto keep = store.issue(grant(access_role::coordinator));
  auto drop = store.issue(grant(access_role::dashboard));
  REQUIRE(keep.ok());
  REQUIRE(drop.ok());

  auto revoked = store.revoke(drop->record.id);
  REQUIRE(revoked.ok());
  CHECK(revoked->revoked);
  auto size_after_first = read_file(store.path()).size();
  auto again = store.revoke(drop->record.id);
  REQUIRE(again.ok());
  CHECK(again->revoked_at == revoked->revoked_at);
  CHECK(read_file(store.path()).size() == size_after_first);  // nothing appended

  auto table = store.load();
  REQUIRE(table.ok());
  CHECK(table->find(drop->record.id)->revoked);
  CHECK_FALSE(table->find(keep->record.id)->revoked);

  auto unknown = store.revoke(new_uuid_v7());
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.err().kind == errc::not_found);

  temp_dir empty;
  auto nothing = token_store(empty.path()).revoke(new_uuid_v7());
  REQUIRE_FALSE(nothing.ok());
  CHECK(nothing.err().kind == errc::not_found);
}

TEST_CASE("token store: grants are validated before anything is written") {
  temp_dir dir;
  token_store store(dir.path());
  auto check_rejected = [&](const token_grant& g, std::string_view code, std::string_view field) {
    auto issued = store.issue(g);
    REQUIRE_FALSE(issued.ok());
    CHECK(issued.err().kind == errc::invalid_argument);
    CHECK(issued.err().code == code);
    CHECK(issued.err().field == field);
  };
  check_rejected(grant(access_role::municipality), "lg_code_required", "lg_code");
  check_rejected(grant(access_role::municipality, "131017"), "invalid_lg_code", "lg_code");
  check_rejected(grant(access_role::coordinator, chiyoda), "lg_code_not_allowed", "lg_code");
  check_rejected(grant(access_role::admin, "", "tab\there"), "invalid_name", "name");
  check_rejected(grant(access_role::admin, "", "line\nbreak"), "invalid_name", "name");
  check_rejected(grant(access_role::admin, "", "\xff\xfe"), "invalid_name", "name");
  check_rejected(grant(access_role::municipality, "271004"), "unknown_municipality",
                 "lg_code");  // Osaka's: a valid check digit, not one of Tokyo's
  check_rejected(grant(access_role::admin, "", "C1 \xc2\x85 next line"), "invalid_name", "name");
  check_rejected(grant(access_role::admin, "",
                       "invoice\xe2\x80\xae"
                       "fdp.exe"),
                 "invalid_name",
                 "name");  // U+202E, right-to-left override
  // The rule of single-line payload text (disallowed_char), message included.
  for (const char* name : {"ops\xe2\x80\xa8team",  // U+2028, line separator
                           "ops\xef\xbf\xbe",      // U+FFFE, a noncharacter
                           "\xef\xbb\xbfops",      // U+FEFF, byte order mark
                           "ops\xef\xbf\xb9"}) {   // U+FFF9, interlinear annotation anchor
    CAPTURE(name);
    check_rejected(grant(access_role::admin, "", name), "invalid_name", "name");
  }
  auto separated = store.issue(grant(access_role::admin, "", "ops\xe2\x80\xa9team"));
  REQUIRE_FALSE(separated.ok());
  CHECK(separated.err().message == "name must not contain the line break U+2029");
  check_rejected(grant(access_role::admin, "", std::string(api::max_token_name_bytes + 1, 'n')),
                 "name_too_long", "name");
  CHECK(::access(store.path().c_str(), F_OK) != 0);  // no file was even created

  CHECK(
      store.issue(grant(access_role::admin, "", std::string(api::max_token_name_bytes, 'n'))).ok());
  CHECK(store.issue(grant(access_role::admin, "", "")).ok());
  CHECK(store.issue(grant(access_role::admin, "", "\xd7\xa9\xd7\xa8\xd7\x94\xe2\x80\x8f 2"))
            .ok());  // שרה, RLM: allowed like in payloads
}

TEST_CASE("token store: a name issued before the character rule refused it still loads") {
  temp_dir dir;
  token_store store(dir.path());
  REQUIRE(store.issue(grant(access_role::admin, "", "old")).ok());
  std::string content = read_file(store.path());
  // Earlier versions refused only C0 controls and DEL: rewrite the name as one of them could.
  content.replace(content.find("\told\n"), 5,
                  "\tC1 \xc2\x85, U+202E \xe2\x80\xae, U+2028 \xe2\x80\xa8, U+FEFF \xef\xbb\xbf\n");
  write_raw(store.path(), content);
  auto table = store.load();
  REQUIRE(table.ok());
  CHECK(table->records().size() == 1);
  CHECK(store.issue(grant(access_role::coordinator)).ok());  // and the file is still appended to
}

TEST_CASE("token store: a line that does not validate makes the file unreadable, naming the line") {
  temp_dir dir;
  token_store store(dir.path());
  REQUIRE(store.issue(grant(access_role::admin)).ok());
  std::string good = read_file(store.path());

  auto expect_corrupt = [&](std::string_view content, std::string_view line_no) {
    write_raw(store.path(), content);
    CAPTURE(content);
    auto table = store.load();
    REQUIRE_FALSE(table.ok());
    CHECK(table.err().kind == errc::corruption);
    CAPTURE(table.err().message);
    CHECK(table.err().message.find(std::string("line ") + std::string(line_no)) !=
          std::string::npos);
    // Writers refuse to append to it too.
    auto issued = store.issue(grant(access_role::admin));
    REQUIRE_FALSE(issued.ok());
    CHECK(issued.err().kind == errc::corruption);
  };
  expect_corrupt("not a token file\n", "1");
  expect_corrupt(good + "bogus\tline\n", "3");
  expect_corrupt(good + "\n", "3");
  expect_corrupt(good + "revoke\t0192aaaa-aaaa-7aaa-8aaa-aaaaaaaaaaaa\t1700000000000000\n", "3");
  std::string wrong_role = good;
  wrong_role.replace(wrong_role.find("\tadmin\t"), 7, "\troot\t");
  expect_corrupt(wrong_role, "2");
  expect_corrupt(good + good.substr(good.find('\n') + 1), "3");  // the same token twice
}

TEST_CASE("token store: files and lines over the limits are refused") {
  temp_dir dir;
  token_store store(dir.path());
  auto first = store.issue(grant(access_role::admin));
  REQUIRE(first.ok());
  std::string good = read_file(store.path());

  // Grow the file to just under the limit with (harmless, repeated) revocations.
  std::string revoke_line = "revoke\t" + first->record.id.to_string() + "\t1700000000000000\n";
  std::string filler = good;
  while (filler.size() + revoke_line.size() <= api::max_token_file_bytes - 50)
    filler += revoke_line;
  write_raw(store.path(), filler);
  REQUIRE(store.load().ok());
  auto full = store.issue(grant(access_role::coordinator));
  REQUIRE_FALSE(full.ok());
  CHECK(full.err().kind == errc::too_large);
  CHECK(full.err().code == "token_file_full");
  CHECK(read_file(store.path()).size() == filler.size());

  write_raw(store.path(), filler + std::string(200, '\n'));
  auto too_big = store.load();
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.err().kind == errc::too_large);

  write_raw(store.path(), good + std::string(api::max_token_line_bytes + 1, 'x') + "\n");
  auto long_line = store.load();
  REQUIRE_FALSE(long_line.ok());
  CHECK(long_line.err().message.find("too long") != std::string::npos);
}

TEST_CASE("token store: concurrent writers never tear or lose a line") {
  temp_dir dir;
  token_store store(dir.path());
  constexpr int writers = 4, each = 25;
  std::vector<std::thread> threads;
  std::vector<std::vector<api::issued_token>> issued(writers);
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      // A store object per thread: separate opens, as separate processes would do.
      token_store mine(dir.path());
      std::string name = std::to_string(w);
      for (int i = 0; i < each; ++i) {
        auto t = mine.issue(grant(access_role::dashboard, "", name));
        if (t.ok()) issued[w].push_back(std::move(*t));
      }
    });
  for (auto& t : threads)
    t.join();

  auto table = store.load();
  REQUIRE(table.ok());
  CHECK(table->records().size() == writers * each);
  std::set<std::string> ids;
  for (const auto& list : issued) {
    CHECK(list.size() == each);
    for (const auto& t : list) {
      ids.insert(t.record.id.to_string());
      auto digest = api::digest_of_bearer(t.bearer);
      REQUIRE(digest.has_value());
      CHECK(table->find(*digest) != nullptr);
    }
  }
  CHECK(ids.size() == writers * each);
}

}  // namespace kakehashi::test
