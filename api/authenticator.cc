#include "api/authenticator.h"

#include <algorithm>
#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <mutex>

#include "api/access_log.h"
#include "api/client_limiter.h"

namespace kakehashi::api {

namespace {

error unauthorized(std::string message) {
  return make_error(errc::unauthorized, "unauthorized", std::move(message));
}

class authenticator_impl final : public authenticator {
 public:
  explicit authenticator_impl(authenticator_options options)
      : options_(std::move(options)),
        store_(options_.data_dir),
        // A burst of 0 would refuse every token from everyone: at least one try.
        limiter_(std::max(1u, options_.bad_token_burst), options_.bad_tokens_per_minute / 60.0,
                 options_.max_tracked_clients) {
    if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
    // With no budget a new token would never be seen.
    options_.reload_burst = std::max(1u, options_.reload_burst);
  }

  status load_initial() {
    if (options_.data_dir.empty()) {
      table_ = std::make_shared<const token_table>();
      return {};
    }
    file_signature signature;
    auto table = store_.load(&signature);
    if (!table) return table.take_err();
    table_ = std::make_shared<const token_table>(std::move(*table));
    signature_ = signature;
    last_check_ = options_.clock();
    reloads_ = 1;
    return {};
  }

  result<principal> authenticate(std::string_view bearer,
                                 std::string_view client_address) override {
    if (bearer.empty()) return unauthorized("a bearer token is required");
    auto now = options_.clock();
    std::string client = client_limiter::key_of(client_address);
    if (!limiter_.allows(client, now)) return too_many();

    auto digest = digest_of_bearer(bearer);
    auto table = current_table(now, check::if_due);
    if (!table) return table.take_err();
    const token_record* record = digest ? (*table)->find(*digest) : nullptr;
    if (digest && !record) {
      // Perhaps issued a moment ago by another process: look at the file now.
      table = current_table(now, check::now);
      if (!table) return table.take_err();
      record = (*table)->find(*digest);
    }
    if (record && !record->revoked) return record->as_principal();

    if (!limiter_.charge(client, now)) return too_many();
    return unauthorized(record ? "the token has been revoked" : "the token is not valid");
  }

  const token_store& tokens() const override { return store_; }

  status refresh() override {
    auto table = current_table(options_.clock(), check::forced);
    if (!table) return table.take_err();
    return {};
  }

  std::chrono::seconds retry_after() const override {
    if (options_.bad_tokens_per_minute == 0) return std::chrono::seconds(60);
    return std::chrono::seconds(static_cast<std::int64_t>(
        std::ceil(60.0 / static_cast<double>(options_.bad_tokens_per_minute))));
  }

  std::uint64_t reloads() const override { return reloads_.load(); }

  std::uint64_t generation() const override { return generation_.load(std::memory_order_acquire); }

  status still_valid(const uuid& token_id) override {
    auto table = current_table(options_.clock(), check::if_due);
    if (!table) return table.take_err();
    const token_record* record = (*table)->find(token_id);
    if (!record || record->revoked)
      return make_error(errc::unauthorized, "token_revoked", "the token has been revoked");
    return {};
  }

  std::chrono::milliseconds recheck_interval() const override { return options_.recheck_interval; }

 private:
  error too_many() const {
    return make_error(errc::overloaded, "too_many_requests",
                      "too many failed token checks from this address; retry later");
  }

  error tokens_unavailable() const {
    return make_error(errc::unavailable, "tokens_unavailable",
                      "the token file cannot be read; see the server log");
  }

  enum class check : std::uint8_t {
    if_due,  // stat the file only when the last look is older than recheck_interval
    now,     // stat it now; re-read it if it changed and the reload budget allows
    forced,  // stat it now; re-read it if it changed, whatever the budget
  };

  // The table to check against, first re-read from the file as `how` says.
  result<std::shared_ptr<const token_table>> current_table(steady_time now, check how) {
    if (options_.data_dir.empty()) return table_;
    if (how == check::if_due) {
      std::lock_guard lock(mutex_);
      if (now - last_check_ < options_.recheck_interval) {
        if (unreadable_) return tokens_unavailable();
        return table_;
      }
    }
    file_signature seen = store_.stat();  // outside the lock: a syscall
    std::lock_guard lock(mutex_);
    last_check_ = std::max(last_check_, now);
    if (seen == signature_) {
      if (unreadable_) return tokens_unavailable();
      return table_;
    }
    if (how != check::forced &&
        !reload_budget_.take(now, options_.reload_burst, options_.reload_per_second)) {
      // Serve the previous table a moment longer rather than re-read on every request.
      if (unreadable_) return tokens_unavailable();
      return table_;
    }
    file_signature read;
    auto table = store_.load(&read);
    reloads_.fetch_add(1);
    if (!table) {
      // Fail closed until the file changes again. The message names a line, never a token.
      unreadable_ = true;
      signature_ = seen;
      generation_.fetch_add(1, std::memory_order_release);
      boost::json::object line;
      line["msg"] = "token file unreadable";
      line["error"] = table.err().message;
      write_stderr_line(boost::json::serialize(line));
      return tokens_unavailable();
    }
    unreadable_ = false;
    signature_ = read;
    table_ = std::make_shared<const token_table>(std::move(*table));
    generation_.fetch_add(1, std::memory_order_release);
    return table_;
  }

  authenticator_options options_;
  token_store store_;
  client_limiter limiter_;
  std::mutex mutex_;  // guards the five below
  std::shared_ptr<const token_table> table_;
  file_signature signature_;
  steady_time last_check_{};  // the last stat of the file
  bool unreadable_ = false;
  token_bucket reload_budget_;
  std::atomic<std::uint64_t> reloads_{0};
  std::atomic<std::uint64_t> generation_{0};  // moved under mutex_, read without it
};

}  // namespace

result<std::unique_ptr<authenticator>> authenticator::open(authenticator_options options) {
  auto impl = std::make_unique<authenticator_impl>(std::move(options));
  if (auto loaded = impl->load_initial(); !loaded) return loaded.take_err();
  return std::unique_ptr<authenticator>(std::move(impl));
}

}  // namespace kakehashi::api
