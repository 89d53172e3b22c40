#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine/snapshot_store_impl.h"

namespace kakehashi::detail {

error io_failure(const rocksdb::Status& s, std::string_view what);

namespace {

namespace rdb = rocksdb;

// Header: magic (8), format version (4, LE), zero (4), position (8, LE), payload length (8, LE),
// last_occurred_at (8, LE two's complement), then BLAKE2b-256 over those 40 bytes and the
// payload (32). Format 1 had no last_occurred_at: its digest covered the first 32 bytes.
constexpr char magic[8] = {'K', 'K', 'H', 'S', 'N', 'A', 'P', '\n'};
constexpr std::uint32_t format_version = 2;
constexpr std::size_t digest_bytes = 32;
constexpr std::size_t version_end = 12;  // magic and format version: enough to tell the rest
constexpr std::size_t max_kind_bytes = 64;
constexpr std::string_view image_suffix = ".img";
constexpr std::string_view temp_suffix = ".tmp";
constexpr int position_digits = 20;  // every uint64_t, so names sort by position

void put_le(char* out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out[i] = static_cast<char>(v >> (8 * i));
}
std::uint64_t get_le(const char* in, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return v;
}

void digest(std::string_view header, std::string_view payload, unsigned char* out) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, digest_bytes);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(header.data()),
                            header.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(payload.data()),
                            payload.size());
  crypto_generichash_final(&state, out, digest_bytes);
}

bool valid_kind(std::string_view kind) {
  return !kind.empty() && kind.size() <= max_kind_bytes &&
         std::all_of(kind.begin(), kind.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
         });
}

std::string image_name(std::string_view kind, std::uint64_t position) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%0*llu", position_digits,
                static_cast<unsigned long long>(position));
  std::string name(kind);
  name += '-';
  name += digits;
  name += image_suffix;
  return name;
}

// The position in an image file name of `kind`; nullopt for any other name.
std::optional<std::uint64_t> parse_name(std::string_view name, std::string_view kind) {
  const std::size_t digits_at = kind.size() + 1;
  if (name.size() != digits_at + position_digits + image_suffix.size() || !name.starts_with(kind) ||
      name[kind.size()] != '-' || !name.ends_with(image_suffix))
    return std::nullopt;
  std::uint64_t position = 0;
  for (std::size_t i = digits_at; i < digits_at + position_digits; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (position > (~std::uint64_t{0} - digit) / 10) return std::nullopt;
    position = position * 10 + digit;
  }
  return position;
}

status check_kind(std::string_view kind) {
  if (!valid_kind(kind))
    return make_error(errc::invalid_argument, "invalid_snapshot_kind",
                      "a snapshot kind is 1-64 characters of a-z, 0-9 and _");
  return {};
}

error read_only_error() {
  return make_error(errc::unavailable, "read_only", "the store was opened read-only");
}

// A line on stderr about an image skipped: the file's name and why, never its content.
void log_skipped(const std::string& name, const std::string& why) {
  std::fprintf(stderr, "kakehashi: snapshot image %s skipped: %s\n", name.c_str(), why.c_str());
}

error invalid_file(std::string why) {
  return make_error(errc::corruption, "invalid_snapshot_file", std::move(why));
}

// A header's fields, from a file's first bytes; its digest is checked by the caller.
struct parsed_header {
  std::size_t bytes = 0;  // the header's size, digest included
  std::uint64_t position = 0, payload_bytes = 0;
  std::optional<std::int64_t> last_occurred_at;
};

result<parsed_header> parse_header(std::string_view data) {
  if (data.size() < version_end) return invalid_file("truncated header");
  if (std::memcmp(data.data(), magic, sizeof magic) != 0)
    return invalid_file("not a snapshot image");
  const auto version = get_le(data.data() + 8, 4);
  if (version != 1 && version != format_version)
    return invalid_file("format version " + std::to_string(version) + ", this build reads 1 and " +
                        std::to_string(format_version));
  parsed_header header;
  header.bytes = version == 1 ? 64 : snapshot_store_impl::header_bytes;
  if (data.size() < header.bytes) return invalid_file("truncated header");
  header.position = get_le(data.data() + 16, 8);
  header.payload_bytes = get_le(data.data() + 24, 8);
  if (version != 1)
    header.last_occurred_at = static_cast<std::int64_t>(get_le(data.data() + 32, 8));
  return header;
}

}  // namespace

std::string snapshot_image_header(std::uint64_t position, std::int64_t last_occurred_at,
                                  std::string_view payload) {
  constexpr std::size_t checked = snapshot_store_impl::header_bytes - digest_bytes;
  std::string header(snapshot_store_impl::header_bytes, '\0');
  std::memcpy(header.data(), magic, sizeof magic);
  put_le(header.data() + 8, format_version, 4);
  put_le(header.data() + 16, position, 8);
  put_le(header.data() + 24, payload.size(), 8);
  put_le(header.data() + 32, static_cast<std::uint64_t>(last_occurred_at), 8);
  digest(std::string_view(header).substr(0, checked), payload,
         reinterpret_cast<unsigned char*>(header.data() + checked));
  return header;
}

result<std::unique_ptr<snapshot_store_impl>> snapshot_store_impl::open(
    std::shared_ptr<rocksdb::FileSystem> fs, std::string dir, bool read_only,
    std::size_t max_image_bytes) {
  std::unique_ptr<snapshot_store_impl> store(
      new snapshot_store_impl(std::move(fs), std::move(dir), read_only, max_image_bytes));
  if (read_only) return store;
  const rdb::IOOptions io;
  const bool existed = store->fs_->FileExists(store->dir_, io, nullptr).ok();
  if (!existed) {
    if (auto s = store->fs_->CreateDirIfMissing(store->dir_, io, nullptr); !s.ok())
      return io_failure(s, "cannot create the snapshots directory");
    // Its entry in the data directory must survive a power cut before an image is trusted to it.
    auto parent = std::filesystem::path(store->dir_).parent_path().string();
    if (auto synced = store->sync_dir(parent.empty() ? "." : parent); !synced)
      return synced.take_err();
  }
  if (auto removed = store->remove_temporaries(); !removed) return removed.take_err();
  return store;
}

status snapshot_store_impl::sync_dir(const std::string& dir) const {
  std::unique_ptr<rdb::FSDirectory> handle;
  auto s = fs_->NewDirectory(dir, rdb::IOOptions(), &handle, nullptr);
  if (s.ok()) s = handle->FsyncWithDirOptions(rdb::IOOptions(), nullptr, rdb::DirFsyncOptions());
  if (!s.ok()) return io_failure(s, "cannot sync the snapshots directory");
  return {};
}

status snapshot_store_impl::remove_temporaries() {
  std::vector<std::string> names;
  auto s = fs_->GetChildren(dir_, rdb::IOOptions(), &names, nullptr);
  if (!s.ok()) return io_failure(s, "cannot list the snapshots directory");
  for (const auto& name : names) {
    if (!std::string_view(name).ends_with(temp_suffix)) continue;
    auto removed = fs_->DeleteFile(dir_ + "/" + name, rdb::IOOptions(), nullptr);
    if (!removed.ok() && !removed.IsNotFound() && !removed.IsPathNotFound())
      return io_failure(removed, "cannot remove a temporary snapshot file");
  }
  return {};
}

status snapshot_store_impl::save(std::string_view kind, std::uint64_t position,
                                 std::int64_t last_occurred_at, std::string_view bytes) {
  if (read_only_) return read_only_error();
  if (auto valid = check_kind(kind); !valid) return valid;
  if (position == 0)
    return make_error(errc::invalid_argument, "invalid_snapshot_position",
                      "a snapshot's position is at least 1");
  if (bytes.size() > max_bytes_)
    return make_error(errc::invalid_argument, "snapshot_too_large",
                      "a snapshot image of " + std::to_string(bytes.size()) +
                          " bytes is over the limit of " + std::to_string(max_bytes_));
  // Hashing outside the lock.
  const std::string header = snapshot_image_header(position, last_occurred_at, bytes);
  const std::string final_path = dir_ + "/" + image_name(kind, position);
  const std::string temp_path = final_path + std::string(temp_suffix);
  const rdb::IOOptions io;
  std::lock_guard lock(write_mutex_);
  std::unique_ptr<rdb::FSWritableFile> file;
  auto s = fs_->NewWritableFile(temp_path, rdb::FileOptions(), &file, nullptr);
  if (!s.ok()) return io_failure(s, "cannot create a snapshot file");
  s = file->Append(header, io, nullptr);
  if (s.ok()) s = file->Append(rdb::Slice(bytes.data(), bytes.size()), io, nullptr);
  if (s.ok()) s = file->Sync(io, nullptr);
  auto closed = file->Close(io, nullptr);
  if (s.ok()) s = closed;
  if (s.ok()) s = fs_->RenameFile(temp_path, final_path, io, nullptr);
  if (!s.ok()) {
    // Nothing under the final name; the temporary file goes now or at the next writable open.
    (void)fs_->DeleteFile(temp_path, io, nullptr);
    return io_failure(s, "cannot write a snapshot file");
  }
  // The image is complete under its name; until this sync a power cut may undo the rename.
  return sync_dir(dir_);
}

result<std::string> snapshot_store_impl::read_prefix(const std::string& path,
                                                     std::uint64_t limit) const {
  const rdb::IOOptions io;
  std::unique_ptr<rdb::FSSequentialFile> file;
  auto s = fs_->NewSequentialFile(path, rdb::FileOptions(), &file, nullptr);
  if (!s.ok()) return io_failure(s, "cannot open it");
  std::string data(limit, '\0');
  std::size_t got = 0;
  while (got < limit) {
    rdb::Slice chunk;
    s = file->Read(limit - got, io, &chunk, data.data() + got, nullptr);
    if (!s.ok()) return io_failure(s, "cannot read it");
    if (chunk.empty()) break;
    if (chunk.data() != data.data() + got)
      std::memmove(data.data() + got, chunk.data(), chunk.size());
    got += chunk.size();
  }
  data.resize(got);
  return data;
}

result<snapshot_store::image> snapshot_store_impl::read_image(const std::string& name,
                                                              std::uint64_t position) const {
  const std::string path = dir_ + "/" + name;
  std::uint64_t size = 0;
  auto s = fs_->GetFileSize(path, rdb::IOOptions(), &size, nullptr);
  if (!s.ok()) return io_failure(s, "cannot read its size");
  // Checked before reading, with the larger header, so a huge file is never read into memory;
  // checked again below with the header the file has.
  if (size > header_bytes && size - header_bytes > max_bytes_)
    return invalid_file("payload of " + std::to_string(size - header_bytes) +
                        " bytes is over the limit of " + std::to_string(max_bytes_));
  auto data = read_prefix(path, size);
  if (!data) return data.take_err();
  if (data->size() != size) return invalid_file("shorter than its size");
  auto header = parse_header(*data);
  if (!header) return header.take_err();
  const std::uint64_t payload_bytes = size - header->bytes;
  if (payload_bytes > max_bytes_)
    return invalid_file("payload of " + std::to_string(payload_bytes) +
                        " bytes is over the limit of " + std::to_string(max_bytes_));
  if (header->position != position)
    return invalid_file("its header names position " + std::to_string(header->position));
  if (header->payload_bytes != payload_bytes)
    return invalid_file("its header names a payload of " + std::to_string(header->payload_bytes) +
                        " bytes, the file holds " + std::to_string(payload_bytes));
  const std::size_t checked = header->bytes - digest_bytes;
  const std::string_view payload = std::string_view(*data).substr(header->bytes);
  unsigned char sum[digest_bytes];
  digest(std::string_view(*data).substr(0, checked), payload, sum);
  if (std::memcmp(sum, data->data() + checked, digest_bytes) != 0)
    return invalid_file("checksum mismatch");
  data->erase(0, header->bytes);
  return image{position, header->last_occurred_at, std::move(*data)};
}

result<std::optional<snapshot_store::image>> snapshot_store_impl::load(
    std::string_view kind, std::uint64_t at_most) const {
  if (auto valid = check_kind(kind); !valid) return valid.take_err();
  // By name only: read_image checks the header of the one it reads.
  auto found = positions(kind);
  if (!found) return found.take_err();
  for (auto it = found->rbegin(); it != found->rend(); ++it) {
    if (*it > at_most) continue;
    const auto name = image_name(kind, *it);
    auto read = read_image(name, *it);
    if (read) return std::optional<image>(std::move(*read));
    // Gone meanwhile (remove_all): not worth a line.
    if (fs_->FileExists(dir_ + "/" + name, rdb::IOOptions(), nullptr).IsNotFound()) continue;
    log_skipped(name, read.err().message);
  }
  return std::optional<image>{};
}

result<std::vector<std::uint64_t>> snapshot_store_impl::positions(std::string_view kind) const {
  std::vector<std::string> names;
  std::vector<std::uint64_t> out;
  auto s = fs_->GetChildren(dir_, rdb::IOOptions(), &names, nullptr);
  if (s.IsNotFound() || s.IsPathNotFound()) return out;  // a read-only store never made it
  if (!s.ok()) return io_failure(s, "cannot list the snapshots directory");
  for (const auto& name : names)
    if (auto position = parse_name(name, kind)) out.push_back(*position);
  std::sort(out.begin(), out.end());
  return out;
}

result<std::vector<snapshot_store::listed>> snapshot_store_impl::list(std::string_view kind) const {
  if (auto valid = check_kind(kind); !valid) return valid.take_err();
  auto found = positions(kind);
  if (!found) return found.take_err();
  std::vector<listed> out;
  for (auto position : *found) {
    const std::string path = dir_ + "/" + image_name(kind, position);
    std::uint64_t size = 0;
    if (!fs_->GetFileSize(path, rdb::IOOptions(), &size, nullptr).ok()) continue;  // gone
    listed image{position, size > header_bytes ? size - header_bytes : 0, std::nullopt};
    if (auto first = read_prefix(path, header_bytes))
      if (auto header = parse_header(*first)) {
        image.bytes = size > header->bytes ? size - header->bytes : 0;
        image.last_occurred_at = header->last_occurred_at;
      }
    out.push_back(image);
  }
  return out;
}

status snapshot_store_impl::remove_all(std::string_view kind) {
  if (read_only_) return read_only_error();
  if (auto valid = check_kind(kind); !valid) return valid;
  std::lock_guard lock(write_mutex_);
  std::vector<std::string> names;
  const rdb::IOOptions io;
  auto s = fs_->GetChildren(dir_, io, &names, nullptr);
  if (!s.ok()) return io_failure(s, "cannot list the snapshots directory");
  bool removed_any = false;
  for (const auto& name : names) {
    std::string_view image = name;
    if (image.ends_with(temp_suffix)) image.remove_suffix(temp_suffix.size());
    if (!parse_name(image, kind)) continue;
    auto removed = fs_->DeleteFile(dir_ + "/" + name, io, nullptr);
    if (!removed.ok() && !removed.IsNotFound() && !removed.IsPathNotFound())
      return io_failure(removed, "cannot remove a snapshot file");
    removed_any = true;
  }
  if (removed_any) return sync_dir(dir_);
  return {};
}

}  // namespace kakehashi::detail
