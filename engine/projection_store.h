// Durable storage for projections: the `proj` column family, reached through the event store.
// A projection writes its state and its checkpoint in one synced WriteBatch, so after a crash it
// resumes from a checkpoint that matches its state exactly (exactly-once). Each write goes
// through the append WAL and holds the store's write fence, so it suits small state only: large
// images (the read model's snapshots) go to snapshot files (engine/snapshot_store.h). Today its
// one user is the runner's deletion of the snapshots earlier versions kept here.
//
// Thread safety: every member may be called from any thread. Lifetime: owned by the store.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/result.h"

namespace kakehashi {

class projection_store {
 public:
  using entry = std::pair<std::string, std::string>;
  virtual ~projection_store() = default;

  // Applies every put and every prefix deletion atomically, synced. In a read-only store:
  // error read_only.
  virtual status write(const std::vector<entry>& puts,
                       const std::vector<std::string>& delete_prefixes = {}) = 0;
  // Keys starting with `prefix`, in order, at most `limit`.
  virtual result<std::vector<std::string>> keys(std::string_view prefix,
                                                std::size_t limit) const = 0;
};

}  // namespace kakehashi
