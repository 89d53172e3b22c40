// event_store::repair: removes the unacknowledged records a power cut can leave after a gap in
// the log (see event_store.h for why every one of them is unacknowledged).
#include <rocksdb/iterator.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/record_codec.h"
#include "engine/store_impl.h"

namespace kakehashi::detail {
namespace {

error not_repairable(std::string why) {
  return make_error(errc::corruption, "not_repairable",
                    std::move(why) +
                        "; a power cut loses whole unsynced writes but never alters a stored "
                        "record, so this is damage or tampering: restore the data directory "
                        "from a backup");
}

// A record stored after the gap, and the index entries its append wrote with it.
struct stored_after_gap {
  std::string log_key;
  std::string stream_key;
  std::string event_id;
};

}  // namespace

result<repair_report> store_impl::repair(const store_options& options, bool dry_run) {
  store_options repairing = options;
  repairing.create_if_missing = false;
  repairing.read_only = dry_run;  // a dry run sees what RocksDB's recovery would replay
  auto store = open_database(repairing);
  if (!store) return store.take_err();
  if (auto format = (*store)->check_format(); !format) return format.take_err();
  if (auto head = (*store)->load_chain_head(); !head) return head.take_err();
  return (*store)->repair_log(dry_run);
}

result<repair_report> store_impl::repair_log(bool dry_run) {
  repair_report out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_));
  it->SeekToLast();
  if (!it->status().ok()) return io_failure(it->status(), "cannot read the log");
  const position_t last = it->Valid() ? decode_position(it->key().ToStringView()) : 0;

  verify_report verified = last > 0 ? verify_range(1, last) : verify_report{};
  out.verified = verified.checked;
  if (verified.ok) {
    // A power cut drops a group's chain head with its records: records missing from the end of
    // the log while the head still names them were removed (chain_head_mismatch).
    if (auto mismatch = chain_head_mismatch(last)) return not_repairable(mismatch->problem);
    return out;
  }
  if (!verified.missing)
    return not_repairable("position " + std::to_string(verified.first_bad_position) +
                          " does not verify: " + verified.problem);
  out.first_missing = verified.first_bad_position;

  std::vector<stored_after_gap> after;
  for (it->Seek(position_key(out.first_missing)); it->Valid(); it->Next()) {
    if (after.size() >= max_unsynced_events(options_))
      return not_repairable("more than " + std::to_string(max_unsynced_events(options_)) +
                            " records follow the gap at position " +
                            std::to_string(out.first_missing) +
                            ", more than a crash can leave unsynced");
    const position_t at = decode_position(it->key().ToStringView());
    recorded_event event;
    if (auto decoded = decode_record(it->value().ToStringView(), event); !decoded)
      return not_repairable("the record stored at position " + std::to_string(at) +
                            " after the gap does not decode: " + decoded.err().message);
    after.push_back({it->key().ToString(), stream_key(event.stream, event.version),
                     std::string(event.id.as_bytes())});
    out.last_dropped = at;
  }
  if (!it->status().ok()) return io_failure(it->status(), "cannot read the log");
  out.dropped = after.size();
  if (dry_run) return out;

  // Index entries are removed only where they name a dropped record: an event id retried
  // idempotently keeps pointing at its original, older position.
  rocksdb::WriteBatch batch;
  auto drop_entry_naming = [&](rocksdb::ColumnFamilyHandle* family, const std::string& key,
                               const std::string& log_key) -> status {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), family, key, &value);
    if (s.IsNotFound()) return {};
    if (!s.ok()) return io_failure(s, "cannot read an index entry");
    if (value == log_key) batch.Delete(family, key);
    return {};
  };
  for (const auto& record : after) {
    batch.Delete(log_, record.log_key);
    if (auto dropped = drop_entry_naming(streams_, record.stream_key, record.log_key); !dropped)
      return dropped.take_err();
    if (auto dropped = drop_entry_naming(dedupe_, record.event_id, record.log_key); !dropped)
      return dropped.take_err();
  }
  const position_t kept = out.first_missing - 1;
  if (kept == 0) {
    batch.Delete(meta_, chain_head_key);
  } else {
    auto tail = read_record(kept);
    if (!tail) return tail.take_err();
    batch.Put(meta_, chain_head_key, chain_head_value(kept, (*tail)->hash));
  }
  rocksdb::WriteOptions sync;
  sync.sync = true;
  if (auto s = db_->Write(sync, &batch); !s.ok())
    return io_failure(s, "cannot remove the records after the gap");
  out.applied = true;
  return out;
}

}  // namespace kakehashi::detail
