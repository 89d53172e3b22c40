// cli/fanout_latency: the acknowledgement table `bench fanout`'s server process sends its client
// process (encoded, then validated as untrusted input), and the exact commit-to-delivery figures
// computed from it and the clients' samples.
#include "cli/fanout_latency.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <thread>

namespace kakehashi::cli::bench {
namespace {

ack_table_limits limits(std::uint64_t min_first, std::uint64_t max_last, std::size_t max_entries) {
  return ack_table_limits{min_first, max_last, max_entries};
}

TEST_CASE("an ack table survives its encoding, gaps included") {
  ack_table t;
  t.first = 101;
  t.offset_us = {0, 734, ack_table::none, 2147483647, 12};
  const std::string line = encode_ack_table(t);
  CHECK(line == "acks 101 5 0 734 - 2147483647 12");
  auto back = decode_ack_table(line, limits(101, 105, 5));
  REQUIRE(back.ok());
  CHECK(back->first == 101);
  CHECK(back->offset_us == t.offset_us);

  ack_table empty;
  empty.first = 7;
  auto none = decode_ack_table(encode_ack_table(empty), limits(1, 0, 0));
  REQUIRE(none.ok());
  CHECK(none->offset_us.empty());
}

TEST_CASE("the line limit holds the longest table of its size") {
  ack_table t;
  t.first = 18446744073709551615ull;
  t.offset_us.assign(1000, 2147483647);
  CHECK(encode_ack_table(t).size() <= ack_line_max_bytes(1000));
  CHECK(encode_ack_table(t).size() == ack_line_max_bytes(1000) - 16);  // COUNT: 4 of 20 digits
  t.offset_us.clear();
  CHECK(encode_ack_table(t).size() <= ack_line_max_bytes(0));
}

TEST_CASE("a malformed ack table is refused") {
  const auto lim = limits(1, 1000, 1000);
  for (const char* line : {
           "",
           "acks",
           "ack 1 1 5",
           "acks 1 1",             // fewer entries than the count
           "acks 1 1 5 6",         // more
           "acks 1 2 5  6",        // two spaces
           "acks 1 1 5 ",          // trailing space
           "acks 1 1 -5",          // negative: ack before recorded_at
           "acks 1 1 +5",          // a sign
           "acks 1 1 2147483648",  // above INT32_MAX
           "acks 1 1 5x",
           "acks 1 1 --",
           "acks 1 1 0x10",
           "acks -1 1 5",
           "acks 1 99999999999999999999 5",  // count beyond uint64
           "acks  1 1 5",
           "acks 1 1 5\r",
       }) {
    CAPTURE(line);
    auto t = decode_ack_table(line, lim);
    REQUIRE_FALSE(t.ok());
    CHECK(t.err().kind != errc::internal);
  }
}

TEST_CASE("an ack table beyond the child's limits is refused before it is read") {
  // More entries than allowed, refused on the count alone: the entries are not even there.
  auto big = decode_ack_table("acks 1 1000001", limits(1, 2000000, 1000000));
  REQUIRE_FALSE(big.ok());
  CHECK(big.err().kind == errc::too_large);
  // Within the count limit but past the last position the child was told of.
  auto past = decode_ack_table("acks 9 3 1 2 3", limits(1, 10, 100));
  REQUIRE_FALSE(past.ok());
  CHECK(past.err().kind == errc::too_large);
  // At or below the base: positions no subscriber can have been sent.
  auto below = decode_ack_table("acks 4 1 1", limits(5, 10, 100));
  REQUIRE_FALSE(below.ok());
  CHECK(below.err().kind == errc::too_large);
  // A first position near the top of the range does not wrap the end around.
  auto wrap =
      decode_ack_table("acks 18446744073709551615 2 1 1", limits(1, 18446744073709551615ull, 100));
  REQUIRE_FALSE(wrap.ok());
  // Exactly at the limits is fine.
  CHECK(decode_ack_table("acks 8 3 1 2 3", limits(8, 10, 3)).ok());
}

TEST_CASE("quantiles are exact elements of the sorted latencies") {
  std::vector<std::int32_t> us(100);
  std::iota(us.begin(), us.end(), 1);  // 1..100 µs
  std::shuffle(us.begin(), us.end(), std::mt19937(7));
  auto q = quantiles_of(us);
  CHECK(q.count == 100);
  CHECK(q.p50_ms == doctest::Approx(0.050));  // element 49 of 0..99
  CHECK(q.p90_ms == doctest::Approx(0.090));
  CHECK(q.p99_ms == doctest::Approx(0.099));
  CHECK(q.max_ms == doctest::Approx(0.100));

  std::vector<std::int32_t> one{4321};
  auto single = quantiles_of(one);
  CHECK(single.p50_ms == doctest::Approx(4.321));
  CHECK(single.max_ms == doctest::Approx(4.321));
  std::vector<std::int32_t> none;
  CHECK(quantiles_of(none).count == 0);
  CHECK(quantiles_of(none).p99_ms == 0);
}

TEST_CASE("commit-to-delivery is receipt minus the event's time minus the ack's offset") {
  // Base 100: index i is position 100 + i. Positions 101..104 are the warm-up, 105.. measured.
  ack_table acks;
  acks.first = 101;
  //             101  102  103  104  105  106  107   108
  acks.offset_us = {400, 500, 600, 700, 800, 900, 1000, ack_table::none};
  sample_log a, b;
  // Two subscribers (two logs) see each event; "from time" is receipt minus recorded_at.
  for (std::uint32_t i = 1; i <= 7; ++i) {
    a.add({i, static_cast<std::int32_t>(1000 + 100 * i)});  // 1100 .. 1700
    b.add({i, static_cast<std::int32_t>(2000 + 100 * i)});  // 2100 .. 2700
  }
  b.add({8, 5000});  // position 108: the table has no ack for it
  b.add({9, 5000});  // position 109: past the table
  a.add({6, 850});   // position 106 again, received 50 µs before its ack: 0, and counted
  auto f = summarize_fanout({&a, &b}, 100, 105, &acks);

  // Measured commit latencies, positions 105..107: a: 1500-800, 1600-900, 1700-1000 = 700 each;
  // b: 2500-800, 2600-900, 2700-1000 = 1700 each; the early one 0. Sorted: 0 700x3 1700x3.
  CHECK(f.primary.count == 7);
  CHECK(f.primary.p50_ms == doctest::Approx(0.700));  // element 3
  CHECK(f.primary.p90_ms == doctest::Approx(1.700));  // element 5
  CHECK(f.primary.max_ms == doctest::Approx(1.700));
  CHECK(f.before_ack == 1);
  CHECK(f.before_ack_max_ms == doctest::Approx(0.050));
  CHECK(f.without_ack == 2);
  // Warm-up commit latencies, positions 101..104: a: 1100-400 .. 1400-700 = 700 each,
  // b: 1700 each.
  CHECK(f.primary_warmup.count == 8);
  CHECK(f.primary_warmup.p50_ms == doctest::Approx(0.700));
  CHECK(f.primary_warmup.max_ms == doctest::Approx(1.700));
  // From the event's time, as before: every measured delivery, the ackless ones included.
  CHECK(f.from_time.count == 9);
  CHECK(f.from_time.max_ms == doctest::Approx(5.000));
  CHECK(f.from_time.p50_ms ==
        doctest::Approx(2.500));  // 850 1500 1600 1700 2500 2600 2700 5000 5000
  CHECK(f.from_time_warmup.count == 8);

  // Without a table the primary figures are those from the event's time.
  auto peer = summarize_fanout({&a, &b}, 100, 105, nullptr);
  CHECK(peer.primary.count == 9);
  CHECK(peer.primary.p50_ms == doctest::Approx(2.500));
  CHECK(peer.before_ack == 0);
  CHECK(peer.without_ack == 0);
}

TEST_CASE("a negative time-to-receipt counts as 0 from the time and before the ack") {
  ack_table acks;
  acks.first = 1;
  acks.offset_us = {300};
  sample_log a;
  a.add({1, -20});  // the subscriber's clock read earlier than the server's stamp
  auto f = summarize_fanout({&a}, 0, 1, &acks);
  CHECK(f.from_time.max_ms == 0);
  CHECK(f.primary.max_ms == 0);
  CHECK(f.before_ack == 1);
  CHECK(f.before_ack_max_ms == doctest::Approx(0.320));

  // The most negative a sample can be, minus the largest offset: no overflow, just early.
  ack_table far;
  far.first = 1;
  far.offset_us = {2147483647};
  sample_log b;
  b.add({1, -2147483647 - 1});
  auto g = summarize_fanout({&b}, 0, 1, &far);
  CHECK(g.primary.max_ms == 0);
  CHECK(g.before_ack == 1);
  CHECK(g.before_ack_max_ms == doctest::Approx(4294967.295));
}

TEST_CASE("a sample log keeps every sample across its blocks") {
  sample_log log;
  const std::uint32_t n = 3 * 65536 + 17;
  for (std::uint32_t i = 0; i < n; ++i)
    log.add({i, static_cast<std::int32_t>(i ^ 0x5555)});
  REQUIRE(log.size() == n);
  bool all = true;
  for (std::uint32_t i = 0; i < n; ++i)
    all = all && log[i].index == i && log[i].from_time_us == static_cast<std::int32_t>(i ^ 0x5555);
  CHECK(all);
}

TEST_CASE("the line reader splits lines and refuses one over its limit") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const std::string big(200000, '7');
  std::thread writer([&] {
    std::string all = "end 5 6\n\nacks 1 0\n" + big + "\nafter\n";
    std::size_t done = 0;
    while (done < all.size()) {
      ssize_t n = ::write(fds[1], all.data() + done, all.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
  });
  line_reader reader(fds[0]);
  std::string line;
  REQUIRE(reader.read(line, 100));
  CHECK(line == "end 5 6");
  REQUIRE(reader.read(line, 100));
  CHECK(line.empty());
  REQUIRE(reader.read(line, 8));  // exactly at the limit
  CHECK(line == "acks 1 0");
  CHECK_FALSE(reader.read(line, big.size() - 1));  // one byte over: refused
  // Drain so the writer finishes, then close.
  char sink[4096];
  while (::read(fds[0], sink, sizeof sink) > 0) {
  }
  writer.join();
  ::close(fds[0]);

  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], "no newline", 10) == 10);
  ::close(fds[1]);
  line_reader eof(fds[0]);
  CHECK_FALSE(eof.read(line, 100));  // end of file before the newline
  ::close(fds[0]);

  REQUIRE(::pipe(fds) == 0);
  std::thread long_writer([&] {
    std::string all = big + "\n";
    ssize_t n = ::write(fds[1], all.data(), all.size());
    (void)n;
    ::close(fds[1]);
  });
  line_reader whole(fds[0]);
  REQUIRE(whole.read(line, big.size()));
  CHECK(line == big);
  long_writer.join();
  ::close(fds[0]);
}

}  // namespace
}  // namespace kakehashi::cli::bench
