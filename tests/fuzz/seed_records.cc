// Writes record_decode's seed corpus: the stored bytes of real records, one per event type that
// the fixed placement (fuzz_support.h) produces, in the input layout of record_decode_fuzz.cc.
//   cmake --build build --target kakehashi_fuzz_seed_records
//   build/tests/fuzz/kakehashi_fuzz_seed_records tests/fuzz/corpus/record_decode
#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "engine/command_service.h"
#include "engine/event_store.h"
#include "engine/record_codec.h"
#include "events/event_codec.h"
#include "fuzz_support.h"

int main(int argc, char** argv) {
  using namespace kakehashi;
  if (argc != 2) {
    std::fprintf(stderr, "usage: kakehashi_fuzz_seed_records CORPUS_DIR\n");
    return 2;
  }
  const std::string out_dir = argv[1];
  std::string dir = fuzz::make_scratch_dir("seeds");
  {
    store_options options;
    options.path = dir + "/data";
    auto store = event_store::open(options);
    if (!store) fuzz::fail("cannot open a store: " + store.err().message);
    auto service = command_service::create(**store);
    fuzz::seed_fixed_aggregates(*service);

    auto write = [&](const std::string& name, std::uint8_t flags, const std::string& bytes) {
      std::ofstream out(out_dir + "/seed-" + name, std::ios::binary | std::ios::trunc);
      out.put(static_cast<char>(flags));
      out << bytes;
    };
    std::set<std::string> done;
    auto types = event_types();
    auto scanned = (*store)->scan(1, [&](const recorded_event& e) {
      if (!done.insert(e.type).second) return true;
      new_event event;
      event.id = e.id;
      event.type = e.type;
      event.schema_version = e.schema_version;
      event.occurred_at = e.occurred_at;
      event.who = e.who;
      event.correlation_id = e.correlation_id;
      event.causation_id = e.causation_id;
      event.payload = e.payload;
      detail::record_header header{e.id, e.stream, e.version, e.position, e.recorded_at};
      hash256 hash;
      std::string stored = detail::encode_record(event, header, e.prev_hash, hash);
      write("record-" + e.type, 0, stored);
      write("record-misaligned-" + e.type, 2, stored);
      for (std::size_t i = 0; i < types.size(); ++i)
        if (types[i].type == e.type)
          write("payload-" + e.type, 1, std::string(1, static_cast<char>(i)) + e.payload);
      return true;
    });
    if (!scanned) fuzz::fail("cannot scan the store: " + scanned.err().message);
    std::printf("%zu event types written to %s\n", done.size(), out_dir.c_str());
  }
  fuzz::remove_tree(dir);
  return 0;
}
