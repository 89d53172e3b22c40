#include "api/token_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "events/reference_data.h"
#include "events/text_formats.h"

namespace kakehashi::api {

namespace {

constexpr std::string_view header_line = "kakehashi-tokens\tv1";
// A writer holds the lock for one append and one fsync; waiting longer than this means
// something is wrong (a stopped process holding it), which is reported rather than waited on.
constexpr std::chrono::seconds lock_wait{10};
constexpr std::chrono::milliseconds lock_poll{5};

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

error crypto_unavailable() {
  return make_error(errc::internal, "crypto_unavailable", "libsodium failed to initialise");
}

// Owns a file descriptor; closing it also releases a flock taken on it.
class unique_fd {
 public:
  explicit unique_fd(int fd = -1) : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&&) = delete;
  ~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

error io_failure(const std::string& what, const std::string& path, int err) {
  return make_error(errc::io_error, "token_file_io", what + " " + path + ": " + std::strerror(err));
}

file_signature signature_of(const struct stat& st) {
  file_signature sig;
  sig.exists = true;
  sig.device = static_cast<std::uint64_t>(st.st_dev);
  sig.inode = static_cast<std::uint64_t>(st.st_ino);
  sig.size = static_cast<std::uint64_t>(st.st_size);
  sig.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return sig;
}

error file_too_large(const std::string& path) {
  return make_error(errc::too_large, "token_file_too_large",
                    path + " is larger than " + std::to_string(max_token_file_bytes) + " bytes");
}

// Reads the first `size` bytes of `fd`.
result<std::string> read_prefix(int fd, std::size_t size, const std::string& path) {
  std::string content(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, content.data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_failure("cannot read", path, errno);
    if (n == 0) break;  // shrank under us (a writer cut a torn line): what we have is whole
    done += static_cast<std::size_t>(n);
  }
  content.resize(done);
  return content;
}

status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_failure("cannot write", path, errno);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::string to_hex(const token_digest& digest) {
  char text[sizeof(token_digest) * 2 + 1];
  sodium_bin2hex(text, sizeof text, digest.data(), digest.size());
  return text;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<token_digest> parse_hex_digest(std::string_view text) {
  token_digest digest{};
  if (text.size() != digest.size() * 2) return std::nullopt;
  for (std::size_t i = 0; i < digest.size(); ++i) {
    int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    digest[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return digest;
}

std::optional<std::int64_t> parse_micros(std::string_view text) {
  std::int64_t value = 0;
  if (text.empty() || text.size() > 19) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    auto tab = line.find('\t');
    fields.push_back(line.substr(0, tab));
    if (tab == std::string_view::npos) return fields;
    line.remove_prefix(tab + 1);
  }
}

std::uint64_t prefix_of(const token_digest& digest) {
  std::uint64_t prefix;
  std::memcpy(&prefix, digest.data(), sizeof prefix);
  return prefix;
}

token_digest digest_of(std::string_view bearer) {
  token_digest digest{};
  crypto_generichash(digest.data(), digest.size(),
                     reinterpret_cast<const unsigned char*>(bearer.data()), bearer.size(), nullptr,
                     0);
  return digest;
}

std::string issue_line(const token_record& r) {
  std::string line = "issue\t" + r.id.to_string() + '\t' + std::to_string(r.created_at) + '\t' +
                     std::string(to_string(r.role)) + '\t' + (r.lg_code.empty() ? "-" : r.lg_code) +
                     '\t' + to_hex(r.digest) + '\t' + r.name + '\n';
  return line;
}

std::string revoke_line(const uuid& id, std::int64_t at) {
  return "revoke\t" + id.to_string() + '\t' + std::to_string(at) + '\n';
}

// The token file opened for writing, holding the exclusive lock, with its validated content.
// Closing (destruction) releases the lock.
struct locked_file {
  unique_fd fd;
  bool created = false;
  std::uint64_t size = 0;  // after cutting a torn tail
  token_table table;
};

result<locked_file> lock_for_append(const std::string& dir, const std::string& path, bool create) {
  bool created = false;
  int raw = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (raw < 0 && errno == ENOENT) {
    if (!create)
      return make_error(errc::not_found, "token_not_found", "no tokens have been issued", "id");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return make_error(errc::io_error, "token_file_io",
                        "cannot create directory " + dir + ": " + ec.message());
    // Tokens are credentials' digests: readable by the owner only.
    raw = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (raw >= 0)
      created = true;
    else if (errno == EEXIST)  // another writer created it first
      raw = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  }
  if (raw < 0) return io_failure("cannot open", path, errno);
  locked_file file{unique_fd(raw), created, 0, {}};

  auto deadline = std::chrono::steady_clock::now() + lock_wait;
  while (::flock(raw, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return io_failure("cannot lock", path, errno);
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(errc::timeout, "token_file_locked",
                        "another process has held the lock on " + path + " for too long");
    std::this_thread::sleep_for(lock_poll);
  }

  struct stat st {};
  if (::fstat(raw, &st) != 0) return io_failure("cannot stat", path, errno);
  if (static_cast<std::uint64_t>(st.st_size) > max_token_file_bytes) return file_too_large(path);
  auto content = read_prefix(raw, static_cast<std::size_t>(st.st_size), path);
  if (!content) return content.take_err();

  // A tail without its newline is an append that never finished, so never acknowledged: cut it
  // off, or the next line would be glued to it.
  std::size_t whole = content->rfind('\n') == std::string::npos ? 0 : content->rfind('\n') + 1;
  if (whole != content->size()) {
    if (::ftruncate(raw, static_cast<off_t>(whole)) != 0)
      return io_failure("cannot truncate", path, errno);
    content->resize(whole);
  }
  auto table = token_table::parse(*content);
  if (!table) return table.take_err();
  file.size = whole;
  file.table = std::move(*table);
  return file;
}

// Appends `lines` (with the header first when the file is empty) and makes them durable.
status append_durably(locked_file& file, const std::string& dir, const std::string& path,
                      std::string lines) {
  if (file.size == 0) lines = std::string(header_line) + '\n' + lines;
  if (file.size + lines.size() > max_token_file_bytes)
    return make_error(errc::too_large, "token_file_full",
                      path + " would grow past " + std::to_string(max_token_file_bytes) +
                          " bytes; it holds too many tokens");
  if (auto written = write_all(file.fd.get(), lines, path); !written) return written;
  if (::fsync(file.fd.get()) != 0) return io_failure("cannot fsync", path, errno);
  if (file.created) {
    // The new directory entry must be durable too, or a crash could lose the whole file.
    unique_fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dirfd.get() < 0 || ::fsync(dirfd.get()) != 0)
      return io_failure("cannot fsync directory", dir, errno);
    file.created = false;
  }
  return {};
}

}  // namespace

status validate_token_name(std::string_view name) {
  if (name.size() > max_token_name_bytes)
    return make_error(errc::invalid_argument, "name_too_long",
                      "name must be at most " + std::to_string(max_token_name_bytes) + " bytes",
                      "name");
  if (!is_valid_utf8(name))
    return make_error(errc::invalid_argument, "invalid_name", "name must be UTF-8", "name");
  if (auto bad = disallowed_char(name, /*multiline=*/false))
    return make_error(errc::invalid_argument, "invalid_name",
                      "name must not contain " + bad->describe(), "name");
  return {};
}

std::optional<token_digest> digest_of_bearer(std::string_view bearer) {
  if (bearer.size() != bearer_token_chars ||
      bearer.substr(0, bearer_prefix.size()) != bearer_prefix)
    return std::nullopt;
  for (char c : bearer.substr(bearer_prefix.size())) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return std::nullopt;
  }
  if (!sodium_ready()) return std::nullopt;
  return digest_of(bearer);
}

result<token_table> token_table::parse(std::string_view content) {
  token_table table;
  auto last_newline = content.rfind('\n');
  if (last_newline == std::string_view::npos) return table;  // empty, or only a torn header
  content = content.substr(0, last_newline + 1);

  std::size_t line_no = 0;
  auto bad = [&](const std::string& why) {
    return make_error(
        errc::corruption, "token_file_corrupt",
        std::string(token_file_name) + " line " + std::to_string(line_no) + ": " + why);
  };
  while (!content.empty()) {
    auto nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content.remove_prefix(nl + 1);
    ++line_no;
    if (line.size() > max_token_line_bytes) return bad("line too long");
    if (line_no == 1) {
      if (line != header_line) return bad("not a kakehashi token file (bad header)");
      continue;
    }
    auto fields = split_tabs(line);
    if (fields[0] == "issue") {
      if (fields.size() != 7) return bad("an issue line has 7 fields");
      token_record r;
      auto id = parse_uuid(fields[1]);
      if (!id || id->is_nil()) return bad("bad token id");
      r.id = *id;
      auto created = parse_micros(fields[2]);
      if (!created) return bad("bad creation time");
      r.created_at = *created;
      auto role = parse_access_role(fields[3]);
      if (!role) return bad("unknown role");
      r.role = *role;
      r.lg_code = fields[4] == "-" ? std::string() : std::string(fields[4]);
      if (fields[4].empty() || !validate_role_binding(r.role, r.lg_code).ok())
        return bad("bad lg_code for the role");
      auto digest = parse_hex_digest(fields[5]);
      if (!digest) return bad("bad digest");
      r.digest = *digest;
      // Not validate_token_name: a name an earlier version issued, before the character rule
      // refused what it refuses today, must still load (a file that does not parse fails
      // closed, locking every token out). A field cannot hold a tab or a line break anyway.
      if (fields[6].size() > max_token_name_bytes || !is_valid_utf8(fields[6]))
        return bad("bad name");
      r.name = std::string(fields[6]);
      if (table.by_id_.count(r.id)) return bad("duplicate token id");
      if (table.find(r.digest)) return bad("duplicate digest");
      table.by_id_.emplace(r.id, table.records_.size());
      table.by_digest_prefix_.emplace(prefix_of(r.digest), table.records_.size());
      table.records_.push_back(std::move(r));
    } else if (fields[0] == "revoke") {
      if (fields.size() != 3) return bad("a revoke line has 3 fields");
      auto id = parse_uuid(fields[1]);
      if (!id) return bad("bad token id");
      auto at = parse_micros(fields[2]);
      if (!at) return bad("bad revocation time");
      auto it = table.by_id_.find(*id);
      if (it == table.by_id_.end()) return bad("revokes a token not issued before it");
      token_record& r = table.records_[it->second];
      if (!r.revoked) {  // the first revocation counts
        r.revoked = true;
        r.revoked_at = *at;
      }
    } else {
      return bad("unknown record kind");
    }
  }
  return table;
}

const token_record* token_table::find(const token_digest& digest) const {
  auto [begin, end] = by_digest_prefix_.equal_range(prefix_of(digest));
  for (auto it = begin; it != end; ++it) {
    const token_record& r = records_[it->second];
    if (sodium_memcmp(r.digest.data(), digest.data(), digest.size()) == 0) return &r;
  }
  return nullptr;
}

const token_record* token_table::find(const uuid& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &records_[it->second];
}

token_store::token_store(std::string data_dir)
    : dir_(std::move(data_dir)), path_(dir_ + "/" + std::string(token_file_name)) {}

file_signature token_store::stat() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return {};
  return signature_of(st);
}

result<token_table> token_store::load(file_signature* signature) const {
  if (signature) *signature = {};
  unique_fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return token_table{};
    return io_failure("cannot open", path_, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_failure("cannot stat", path_, errno);
  if (static_cast<std::uint64_t>(st.st_size) > max_token_file_bytes) return file_too_large(path_);
  // Exactly the bytes the signature describes: a line appended meanwhile changes the signature,
  // so the next check reads again.
  auto content = read_prefix(fd.get(), static_cast<std::size_t>(st.st_size), path_);
  if (!content) return content.take_err();
  auto table = token_table::parse(*content);
  if (table && signature) *signature = signature_of(st);
  return table;
}

result<issued_token> token_store::issue(const token_grant& grant) const {
  if (auto st = validate_role_binding(grant.role, grant.lg_code); !st) return st.take_err();
  // Both stricter than what parse() accepts, so that a file an earlier version wrote still
  // loads: a token file that does not validate fails closed, and would lock every token out.
  if (auto st = validate_token_name(grant.name); !st) return st.take_err();
  if (grant.role == access_role::municipality && !is_tokyo_municipality(grant.lg_code))
    return make_error(errc::invalid_argument, "unknown_municipality",
                      "lg_code must be the code of one of Tokyo's 62 municipalities", "lg_code");
  if (!sodium_ready()) return crypto_unavailable();

  issued_token out;
  std::array<unsigned char, 32> secret;
  randombytes_buf(secret.data(), secret.size());
  char encoded[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(encoded, sizeof encoded, secret.data(), secret.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(secret.data(), secret.size());
  out.bearer = std::string(bearer_prefix) + encoded;
  sodium_memzero(encoded, sizeof encoded);

  token_record& r = out.record;
  r.id = new_uuid_v7();
  r.role = grant.role;
  r.lg_code = grant.lg_code;
  r.name = grant.name;
  r.created_at = now_micros();
  r.digest = digest_of(out.bearer);

  auto file = lock_for_append(dir_, path_, /*create=*/true);
  if (!file) return file.take_err();
  if (auto st = append_durably(*file, dir_, path_, issue_line(r)); !st) return st.take_err();
  return out;
}

result<token_record> token_store::revoke(const uuid& id) const {
  auto file = lock_for_append(dir_, path_, /*create=*/false);
  if (!file) return file.take_err();
  const token_record* found = file->table.find(id);
  if (!found) return make_error(errc::not_found, "token_not_found", "no token has this id", "id");
  token_record r = *found;
  if (r.revoked) return r;
  r.revoked = true;
  r.revoked_at = now_micros();
  if (auto st = append_durably(*file, dir_, path_, revoke_line(id, r.revoked_at)); !st)
    return st.take_err();
  return r;
}

}  // namespace kakehashi::api
