// Snapshot images as plain files, reached through the event store (event_store::snapshots()).
// A projection saves a compact image of its state at a log position and loads the newest one at
// or before a position later; the engine does not know what an image means, only its kind (a
// short name such as "read_model") and its position.
//
// Why files and not the `proj` column family: an image is large (some 35 MB for the read model at
// a million events). Written as a synced WriteBatch it went through the append WAL under the
// store's write fence, stalling every append while it was written and synced, replayed from the
// WAL at the next open, then flushed and compacted. A file written next to the database costs
// none of that: appends never wait for an image.
//
// On disk: <data>/snapshots/<kind>-<position, 20 digits>.img, each a 72-byte header (magic,
// format version, position, payload length, the image's last_occurred_at, BLAKE2b-256 of the
// header's first 40 bytes and the payload) followed by the payload. Format 1, written before
// images recorded last_occurred_at, had a 64-byte header without it; such files are still read.
// save() writes "<name>.tmp", syncs it, renames it to its name and syncs the directory, all
// through the file system the database is opened with (so the fault-injecting one of
// store_options::faults covers it): a crash leaves either the image set as it was or the new
// image complete, never a half file under a final name. A writable open removes stray temporary
// files. Every file load() reads is checked (header, position against its name, length,
// checksum, size limit); one that fails is skipped with a line on stderr naming the file and the
// reason (never its content) and the next older one is tried.
//
// Thread safety: every member may be called from any thread; save() and remove_all() are
// serialised among themselves and never take the store's append path or its write fence, so a
// slow image write never delays an append. A load() concurrent with remove_all() may find a
// listed file gone and skips it. Lifetime: owned by the store, valid as long as it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.h"

namespace kakehashi {

class snapshot_store {
 public:
  struct image {
    std::uint64_t position = 0;
    // The latest business time (recorded_event::occurred_at) among the events the image folds,
    // as its writer gave it; nullopt for a format 1 image, which did not record it. It lets an
    // as-of-time read pick an image that no event after its time went into, from the headers.
    std::optional<std::int64_t> last_occurred_at;
    std::string bytes;
  };
  // A stored image as listed, unchecked: its position by its file name, its payload's size by
  // the file's size, and last_occurred_at as its header says (nullopt for format 1 or a header
  // that cannot be read).
  struct listed {
    std::uint64_t position = 0;
    std::uint64_t bytes = 0;
    std::optional<std::int64_t> last_occurred_at;
  };

  virtual ~snapshot_store() = default;

  // Largest payload save() writes and load() accepts (store_options::max_snapshot_bytes).
  virtual std::size_t max_image_bytes() const = 0;

  // Stores `bytes` as the image of `kind` at `position` (> 0), with the latest business time of
  // the events it folds (kept in the checked header; the store does not interpret it), durably
  // (synced, directory synced) before it returns, replacing an image of the same kind and position.
  // Kinds are 1-64 of [a-z0-9_]. Errors: invalid_argument (`invalid_snapshot_kind`,
  // `invalid_snapshot_position`, `snapshot_too_large`: nothing written), unavailable `read_only`,
  // or an I/O error (any temporary file removed where the disk allows, the images stored before
  // untouched).
  virtual status save(std::string_view kind, std::uint64_t position, std::int64_t last_occurred_at,
                      std::string_view bytes) = 0;
  // The newest valid image of `kind` at a position <= `at_most`; nullopt when there is none.
  virtual result<std::optional<image>> load(std::string_view kind, std::uint64_t at_most) const = 0;
  // The images of `kind` in position order, from their names and headers (not checked: load()
  // does that); reads each file's first bytes.
  virtual result<std::vector<listed>> list(std::string_view kind) const = 0;
  // Deletes every image of `kind` (and its temporary files). unavailable `read_only` in a
  // read-only store.
  virtual status remove_all(std::string_view kind) = 0;
};

}  // namespace kakehashi
