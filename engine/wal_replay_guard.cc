#include "engine/wal_replay_guard.h"

#include <rocksdb/write_batch.h>

namespace kakehashi::detail {
namespace {

// A WriteBatch starts with its sequence number, 8 bytes little-endian, then its count (4 bytes).
constexpr std::size_t batch_header_bytes = 12;

std::uint64_t batch_sequence(const std::string& rep) {
  std::uint64_t sequence = 0;
  for (std::size_t i = 8; i-- > 0;)
    sequence = (sequence << 8) | static_cast<unsigned char>(rep[i]);
  return sequence;
}

}  // namespace

rocksdb::WalFilter::WalProcessingOption wal_replay_guard::LogRecordFound(
    unsigned long long log_number, const std::string&, const rocksdb::WriteBatch& batch,
    rocksdb::WriteBatch*, bool*) {
  const std::string& rep = batch.Data();
  // RocksDB reports a record too short for a header as corruption before asking the filter.
  if (rep.size() < batch_header_bytes) return WalProcessingOption::kContinueProcessing;
  const std::uint64_t sequence = batch_sequence(rep);
  if (next_ && sequence > *next_) {
    stopped_ = stop{log_number, *next_, sequence};
    return WalProcessingOption::kStopReplay;
  }
  next_ = sequence + batch.Count();
  return WalProcessingOption::kContinueProcessing;
}

}  // namespace kakehashi::detail
