#include "cli/demo_history.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "engine/process_manager.h"
#include "events/reference_data.h"
#include "events/text_formats.h"

namespace kakehashi::demo {
namespace {

constexpr std::uint64_t seed_value = 20240401;
constexpr std::int64_t minute = 60'000'000LL;
constexpr std::int64_t hour = 60 * minute;
constexpr std::int64_t day = 24 * hour;
constexpr std::int64_t jst = 9 * hour;

// ---- calendar (proleptic Gregorian, H. Hinnant's days_from_civil) ----
std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}
// Midnight of a Tokyo calendar day, as µs since the epoch.
std::int64_t tokyo_day(int y, unsigned m, unsigned d) {
  return days_from_civil(y, m, d) * day - jst;
}
// The Tokyo calendar date of an instant, YYYY-MM-DD.
std::string date_of(std::int64_t micros) {
  std::int64_t z = (micros + jst) / day + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const long long y = static_cast<long long>(yoe) + era * 400 + (m <= 2);
  char out[32];
  std::snprintf(out, sizeof out, "%04lld-%02u-%02u", y, m, d);
  return out;
}
// The first day of the month after `micros`, and the end of the fiscal year (March 31) that
// contains a date at least `min_months` later.
std::int64_t next_month_start(std::int64_t micros) {
  auto text = date_of(micros);
  int y = std::stoi(text.substr(0, 4));
  unsigned m = static_cast<unsigned>(std::stoi(text.substr(5, 2)));
  return m == 12 ? tokyo_day(y + 1, 1, 1) : tokyo_day(y, m + 1, 1);
}
std::int64_t fiscal_year_end(std::int64_t micros, int min_months) {
  auto text = date_of(micros + min_months * 30 * day);
  int y = std::stoi(text.substr(0, 4));
  unsigned m = static_cast<unsigned>(std::stoi(text.substr(5, 2)));
  return tokyo_day(m <= 3 ? y : y + 1, 3, 31);
}

// ---- a small JSON object writer (all keys and values here are plain and known) ----
std::string quoted(std::string_view text) {
  return json_quote(text);
}

class body {
 public:
  body& str(std::string_view key, std::string_view value) { return raw(key, quoted(value)); }
  body& num(std::string_view key, long long value) { return raw(key, std::to_string(value)); }
  body& boolean(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }
  body& list(std::string_view key, const std::vector<std::string>& values) {
    std::string out = "[";
    for (const auto& v : values) {
      if (out.size() > 1) out += ',';
      out += quoted(v);
    }
    out += ']';
    return raw(key, out);
  }
  body& raw(std::string_view key, std::string_view json) {
    if (text_.size() > 1) text_ += ',';
    text_ += quoted(key);
    text_ += ':';
    text_ += json;
    return *this;
  }
  std::string done() const { return text_ + "}"; }

 private:
  std::string text_ = "{";
};

// ---- deterministic randomness: only raw engine output, never std distributions, whose
// results differ between standard libraries ----
class dice {
 public:
  explicit dice(std::uint64_t seed) : rng_(seed) {}
  std::uint64_t below(std::uint64_t n) { return rng_() % n; }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <class T>
  const T& pick(const std::vector<T>& from) {
    return from[below(from.size())];
  }
  // A UUIDv7 whose time part is `at`, the rest from the seed.
  std::string id_at(std::int64_t at) {
    uuid id;
    auto ms = static_cast<std::uint64_t>(at / 1000);
    for (int i = 0; i < 6; ++i)
      id.bytes[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
    auto r = rng_();
    auto r2 = rng_();
    for (int i = 6; i < 16; ++i)
      id.bytes[i] = static_cast<std::uint8_t>((i < 14 ? r : r2) >> (8 * (i % 8)));
    id.bytes[6] = (id.bytes[6] & 0x0f) | 0x70;
    id.bytes[8] = (id.bytes[8] & 0x3f) | 0x80;
    return id.to_string();
  }

 private:
  std::mt19937_64 rng_;
};

const std::vector<std::string> family_names = {"佐藤",   "鈴木", "高橋", "田中", "伊藤", "渡辺",
                                               "山本",   "中村", "小林", "加藤", "吉田", "山田",
                                               "佐々木", "山口", "松本", "井上", "木村", "林",
                                               "斎藤",   "清水", "山崎", "森",   "池田", "橋本"};
const std::vector<std::string> given_names = {
    "花子", "太郎", "陽菜", "蓮",   "結衣", "大翔", "美咲", "翔太", "さくら", "健",
    "彩",   "悠真", "真央", "拓海", "葵",   "直樹", "愛",   "誠",   "恵",     "亮"};
const std::vector<std::string> romaji = {
    "hanako", "taro", "hina", "ren",    "yui", "hiroto", "misaki", "shota",  "sakura", "ken",
    "aya",    "yuma", "mao",  "takumi", "aoi", "naoki",  "ai",     "makoto", "megumi", "ryo"};
const std::vector<std::string> employers = {"株式会社サンプル商事",
                                            "例示テクノロジーズ株式会社",
                                            "デモ銀行",
                                            "架空システムズ合同会社",
                                            "テスト製作所",
                                            "サンプルデザイン事務所",
                                            "例示コンサルティング",
                                            "フリーランス"};
const std::vector<std::string> work_form_names = {"onsite", "remote", "hybrid", "spot"};
const std::vector<std::string> problems = {"RPAを導入したが使いこなせる職員がいない",
                                           "ホームページが住民に届いていない",
                                           "窓口のDXを進めたいが何から始めるべきか分からない",
                                           "基幹システム標準化への移行計画を立てたい",
                                           "庁内のデータを政策立案に活用したい",
                                           "職員向けのデジタル研修を企画したい",
                                           "情報セキュリティポリシーを見直したい",
                                           "SNSでの情報発信を強化したい",
                                           "生成AIの庁内活用ルールを作りたい",
                                           "オンライン申請の利用率を上げたい"};
const std::vector<std::string> departments = {"デジタル推進課", "情報政策課", "企画課",
                                              "広報課",         "総務課",     "DX推進室"};
// Each problem's natural role, so requirements follow from the hearing.
const std::vector<std::string> problem_roles = {
    "rpa_specialist", "ui_ux_designer", "it_consultant",       "system_architect",
    "data_analyst",   "trainer",        "security_specialist", "pr",
    "cio_advisor",    "project_manager"};
const std::vector<std::string> coordinators = {"coord-sato", "coord-tanaka", "coord-ito"};

struct talent_plan {
  std::string id;
  std::int64_t registered = 0;
  std::string role;
  bool stable = true;           // used for candidacies; churn talents pause and withdraw
  std::int64_t busy_until = 0;  // already a candidate somewhere until then
};

struct planned {
  std::int64_t at = 0;
  std::uint64_t seq = 0;
  command_request request;
  enum class kind : std::uint8_t { command, erase } what = kind::command;
};

class planner {
 public:
  explicit planner(std::int64_t until) : dice_(seed_value), until_(until) {}

  std::vector<planned> plan();

 private:
  void add(std::int64_t at, std::string type, std::string target, std::string json,
           std::string who = {}, std::string role = "coordinator", std::string on_behalf = {},
           std::string aggregate = {}) {
    planned p;
    p.at = at;
    p.seq = seq_++;
    p.request.type = std::move(type);
    p.request.target_id = std::move(target);
    p.request.body_json = std::move(json);
    p.request.aggregate = std::move(aggregate);
    p.request.who =
        actor{who.empty() ? dice_.pick(coordinators) : who, std::move(role), std::move(on_behalf)};
    p.request.occurred_at = at;
    p.request.idempotency_key = parse_uuid(dice_.id_at(at));
    plan_.push_back(std::move(p));
  }
  std::string key_of_last() const { return plan_.back().request.idempotency_key->to_string(); }

  void talents();
  std::string register_talent(std::int64_t at, bool stable);
  talent_plan* find_candidate(const std::string& role, std::int64_t at);
  // A need from consultation to `stage`; returns nothing, plans everything.
  void need(const std::string& lg, std::int64_t opened, int appointments, int final_stage);
  void appointment_life(const std::string& need_id, const std::string& candidacy_id,
                        const std::string& lg, std::int64_t at, bool tama_training);
  // A coordinator's idea that the municipality takes up, accepted or not at the end.
  void taken_up_idea(const std::string& lg, std::int64_t t0, bool accepted);

  dice dice_;
  std::int64_t until_;
  std::uint64_t seq_ = 0;
  std::vector<planned> plan_;
  std::vector<talent_plan> talents_;
  int appointment_count_ = 0;
};

std::string planner::register_talent(std::int64_t at, bool stable) {
  talent_plan t;
  t.id = dice_.id_at(at);
  t.registered = at;
  t.stable = stable;
  const auto& roles = taxonomy();
  std::vector<std::string> role_codes, skill_codes;
  for (const auto& e : roles)
    (e.kind == "role" ? role_codes : skill_codes).push_back(e.code);
  t.role = dice_.pick(role_codes);
  std::vector<std::string> talent_roles{t.role};
  if (dice_.chance(30)) {
    auto second = dice_.pick(role_codes);
    if (second != t.role) talent_roles.push_back(second);
  }
  std::vector<std::string> skills;
  for (int i = 0, n = 2 + static_cast<int>(dice_.below(4)); i < n; ++i) {
    auto s = dice_.pick(skill_codes);
    if (std::find(skills.begin(), skills.end(), s) == skills.end()) skills.push_back(s);
  }
  std::vector<std::string> forms{"remote"};
  if (dice_.chance(50)) forms.push_back("spot");
  if (dice_.chance(40)) forms.push_back("onsite");
  if (dice_.chance(30)) forms.push_back("hybrid");
  const auto& munis = tokyo_municipalities();
  std::string home = munis[dice_.below(munis.size())].lg_code;
  std::vector<std::string> areas{home};
  if (dice_.chance(40)) {
    auto other = munis[dice_.below(munis.size())].lg_code;
    if (other != home) areas.push_back(other);
  }
  auto given = dice_.below(given_names.size());
  auto n = talents_.size();
  char phone[32];
  std::snprintf(phone, sizeof phone, "090-%04u-%04u", static_cast<unsigned>(1000 + n % 9000),
                static_cast<unsigned>(dice_.below(10000)));
  body b;
  b.str("display_name", dice_.pick(family_names) + " " + given_names[given])
      .str("email", romaji[given] + "." + std::to_string(n + 1) + "@example.jp")
      .str("phone", phone)
      .str("employer", dice_.pick(employers))
      .str("residence_area", home)
      .list("role_categories", talent_roles)
      .list("skills", skills)
      .list("tiers", {t.role == "cio_advisor" || dice_.chance(6) ? "cio_advisor" : "hands_on"})
      .raw("availability",
           body()
               .num("hours_per_week", 4 + static_cast<long long>(dice_.below(5)) * 4)
               .list("work_forms", forms)
               .list("areas", areas)
               .done())
      .str("consent_version", "2024-04");
  add(at, "TalentRegistered", t.id, b.done(), "self-registration", "talent");
  talents_.push_back(std::move(t));
  return talents_.back().id;
}

void planner::talents() {
  // 888 by the end of 2025-12-01, growing as word spread; then about 1.3 a day.
  const std::int64_t start = tokyo_day(2024, 4, 1) + 10 * hour;
  const std::int64_t last = tokyo_day(2025, 12, 1) + 10 * hour;
  for (int i = 0; i < 888; ++i) {
    double x = static_cast<double>(i) / 887.0;
    auto at =
        start +
        static_cast<std::int64_t>(static_cast<double>(last - start) * (0.35 * x + 0.65 * x * x)) /
            day * day +
        static_cast<std::int64_t>(dice_.below(8 * 60)) * minute;
    register_talent(std::min(at, last + 13 * hour), i % 9 != 4);
  }
  for (std::int64_t at = tokyo_day(2025, 12, 2) + 10 * hour; at < tokyo_day(2027, 4, 1);
       at += 18 * hour)
    register_talent(at + static_cast<std::int64_t>(dice_.below(6 * 60)) * minute, true);

  // Churn among the talents not used for candidacies: pauses, availability, withdrawals.
  int withdrawals = 0;
  for (std::size_t i = 0; i < talents_.size(); ++i) {
    auto& t = talents_[i];
    if (t.stable) {
      if (dice_.chance(6))
        add(t.registered + (20 + static_cast<std::int64_t>(dice_.below(200))) * day,
            "TalentAvailabilityChanged", t.id,
            body()
                .raw("availability",
                     body().num("hours_per_week", 8).list("work_forms", {"remote", "spot"}).done())
                .done(),
            "self-service", "talent");
      continue;
    }
    auto at = t.registered + (30 + static_cast<std::int64_t>(dice_.below(120))) * day;
    if (withdrawals < 6 && i % 7 == 0) {
      ++withdrawals;
      if (withdrawals <= 2) {
        // An idea nobody took further; the withdrawal's process manager archives it.
        std::string cand = dice_.id_at(at - 10 * day);
        const auto& munis = tokyo_municipalities();
        add(at - 10 * day, "CandidateIdentified", cand,
            body()
                .str("talent_id", t.id)
                .str("direction", "talent_driven")
                .str("source", "coordinator_idea")
                .str("lg_code", munis[(i * 7) % munis.size()].lg_code)
                .done());
      }
      add(at, "TalentWithdrew", t.id, body().str("reason", "本業が多忙になったため").done(),
          "self-service", "talent");
      if (withdrawals == 1) {
        planned p;
        p.at = at + 40 * day;
        p.seq = seq_++;
        p.what = planned::kind::erase;
        p.request.target_id = t.id;
        p.request.body_json = "本人からの削除請求 (APPI)";
        p.request.who = actor{"admin-yamada", "admin", ""};
        p.request.idempotency_key = parse_uuid(dice_.id_at(p.at));
        plan_.push_back(std::move(p));
      }
    } else if (dice_.chance(25)) {
      add(at, "TalentPaused", t.id, body().str("reason", "育児のため一時休止").done(),
          "self-service", "talent");
      if (dice_.chance(50))
        add(at + 90 * day, "TalentResumed", t.id, body().done(), "self-service", "talent");
    }
  }
}

talent_plan* planner::find_candidate(const std::string& role, std::int64_t at) {
  std::vector<talent_plan*> fits;
  for (auto& t : talents_)
    if (t.stable && t.role == role && t.registered < at - 3 * day && t.busy_until < at)
      fits.push_back(&t);
  if (fits.empty())
    for (auto& t : talents_)
      if (t.stable && t.registered < at - 3 * day && t.busy_until < at) fits.push_back(&t);
  if (fits.empty()) return nullptr;
  return fits[dice_.below(fits.size())];
}

// final_stage: 0 consulted, 1 hearing, 2 requirements, 3 sourcing with open candidacies,
// 4 filled, 5 closed without a match, 6 on hold.
void planner::need(const std::string& lg, std::int64_t t0, int appointments, int final_stage) {
  const std::string officer = "officer-" + lg;
  std::string need_id = dice_.id_at(t0);
  auto problem = dice_.below(problems.size());
  add(t0, "NeedOpened", need_id,
      body()
          .str("lg_code", lg)
          .str("origin", dice_.chance(15) ? "talent_driven" : "municipality_request")
          .str("department", dice_.pick(departments))
          .str("problem", problems[problem])
          .done());
  if (final_stage == 0) return;
  auto hearing = dice_.id_at(t0 + 10 * day);
  add(t0 + 10 * day, "HearingRecorded", need_id,
      body()
          .str("hearing_id", hearing)
          .str("held_on", date_of(t0 + 10 * day))
          .list("attendees", {dice_.pick(family_names) + "課長", dice_.pick(family_names) + "主任"})
          .str("notes",
               "現状の業務フローと課題を確認。" + problems[problem] + "。職員の負担が大きい。")
          .str("findings", "要件の整理が必要")
          .done());
  if (final_stage == 6) {
    add(t0 + 20 * day, "NeedPutOnHold", need_id, body().str("reason", "予算編成待ち").done());
    return;
  }
  if (final_stage == 1) return;
  const std::string& role = problem_roles[problem];
  const int openings = std::max(appointments, 1);
  add(t0 + 30 * day, "RequirementsDefined", need_id,
      body()
          .str("role_category", role)
          .str("tier", role == "cio_advisor" ? "cio_advisor" : "hands_on")
          .list("skills", {"dx_strategy", "business_process"})
          .list("work_forms", {"remote", "onsite"})
          .num("hours_per_week", 8)
          .num("duration_months", 12)
          .num("openings", openings)
          .done());
  if (final_stage == 2) return;
  bool posting = dice_.chance(35);
  add(t0 + 33 * day, "SourcingModeChosen", need_id,
      body().str("mode", posting ? "public_posting" : "scout").done());
  if (posting)
    add(t0 + 35 * day, "PublicPostingPublished", need_id,
        body()
            .str("url", "https://www." + lg + ".example.lg.jp/recruit/dx")
            .str("closes_on", date_of(t0 + 60 * day))
            .done());
  if (final_stage == 5) {
    add(t0 + 80 * day, "NeedClosed", need_id,
        body().str("reason", dice_.chance(50) ? "no_match" : "self_hired").done());
    return;
  }
  int candidates = final_stage == 4 ? appointments + 1 : 2;
  for (int c = 0; c < candidates; ++c) {
    auto at = t0 + 40 * day + c * hour;
    talent_plan* t = find_candidate(role, at);
    if (!t) continue;
    t->busy_until = at + 400 * day;
    std::string cand = dice_.id_at(at);
    add(at, "CandidateIdentified", cand,
        body()
            .str("talent_id", t->id)
            .str("need_id", need_id)
            .str("direction", "need_driven")
            .str("source", posting ? "public_posting" : "scout")
            .done());
    add(at + 3 * day, "TalentContacted", cand, body().done());
    bool chosen = c < appointments;
    if (final_stage == 3) {
      if (c == 0) {
        add(at + 8 * day, "InterestConfirmed", cand, body().done());
        add(at + 12 * day, "ProposalSubmitted", cand, body().done());
      }
      continue;
    }
    if (!chosen && c % 2 == 1) {
      add(at + 7 * day, "InterestDeclined", cand, body().str("reason", "日程が合わない").done());
      continue;
    }
    add(at + 7 * day, "InterestConfirmed", cand, body().done());
    add(at + 14 * day, "ProposalSubmitted", cand, body().done());
    bool by_officer = dice_.chance(40);
    add(at + 28 * day, "MunicipalDecisionRecorded", cand,
        body()
            .boolean("accepted", chosen)
            .str("reason", chosen ? "経験が要件に合致" : "今回は見送り")
            .str("decided_by", dice_.pick(family_names) + "課長")
            .done(),
        by_officer ? officer : std::string(), by_officer ? "municipality" : "coordinator",
        by_officer ? std::string() : officer);
    if (chosen) appointment_life(need_id, cand, lg, at + 35 * day, lg == "132241" && c == 0);
  }
  if (final_stage == 4)
    add(t0 + 40 * day + 36 * day + 12 * hour, "NeedClosed", need_id,
        body().str("reason", "filled").done());
}

void planner::appointment_life(const std::string& need_id, const std::string& cand,
                               const std::string& lg, std::int64_t at, bool tama_training) {
  std::string id = dice_.id_at(at);
  std::int64_t starts = next_month_start(at + 5 * day);
  std::int64_t ends = fiscal_year_end(starts, 3);
  std::string form = dice_.pick(work_form_names);
  if (tama_training) form = "spot";
  ++appointment_count_;
  add(at, "AppointmentArranged", id,
      body()
          .str("candidacy_id", cand)
          .str("form", form)
          .str("starts_on", date_of(starts))
          .str("ends_on", date_of(ends))
          .num("hours_per_week", 4 + static_cast<long long>(dice_.below(4)) * 4)
          .str("scope", tama_training ? "職員向けデジタルツール研修" : "DX推進の実務支援")
          .done());
  add(starts + 9 * hour, "AppointmentStarted", id, body().done());
  bool early = appointment_count_ % 11 == 5;
  std::int64_t end_at = early ? starts + 100 * day : ends;
  if (!early && dice_.chance(45)) {
    // Renewed for the next fiscal year as an extension of the terms.
    std::int64_t new_end = fiscal_year_end(ends + day, 3);
    add(ends - 20 * day, "AppointmentAmended", id,
        body()
            .str("kind", "extension")
            .str("effective_on", date_of(ends + day))
            .raw("changes",
                 body().str("ends_on", date_of(new_end)).str("summary", "次年度への延長").done())
            .str("approved_by", dice_.pick(family_names) + "部長")
            .done());
    end_at = new_end;
  }
  if (tama_training && starts + 121 * day < end_at)
    add(starts + 120 * day, "AppointmentAmended", id,
        body()
            .str("kind", "scope_expansion")
            .str("effective_on", date_of(starts + 121 * day))
            .raw("changes", body()
                                .str("scope", "研修に加えツールの保守・運用支援")
                                .str("summary", "研修からツール保守へ拡大")
                                .done())
            .str("approved_by", "多摩市 情報政策課長")
            .done());
  int month = 0;
  for (std::int64_t due = starts + 30 * day; due + 20 * day < end_at; due += 30 * day, ++month) {
    std::string party = month % 2 == 0 ? "talent" : "municipality";
    std::string check = dice_.id_at(due - 14 * day);
    add(due - 14 * day, "CheckInScheduled", id,
        body().str("check_in_id", check).str("due_on", date_of(due)).str("party", party).done());
    if (dice_.chance(7)) {
      add(due + day, "CheckInMissed", id,
          body().str("check_in_id", check).str("due_on", date_of(due)).str("party", party).done());
      if (month == 1) {
        // Entered in error: the check-in did happen; the entry is voided and completed.
        std::string missed_event = key_of_last();
        add(due + 2 * day, "EventVoided", id,
            body().str("voided_event_id", missed_event).str("reason", "誤入力（実施済み）").done(),
            {}, "coordinator", {}, "appointment");
      } else {
        continue;
      }
    }
    add(due + 3 * day, "CheckInCompleted", id,
        body()
            .str("check_in_id", check)
            .str("party", party)
            .num("rating", 3 + static_cast<long long>(dice_.below(3)))
            .str("notes", month % 3 == 0 ? "業務は順調。庁内の協力体制も良好。"
                                         : "進捗確認。次回までにマニュアル案を作成。")
            .done());
    if (month == 2 && dice_.chance(35)) {
      std::string issue = dice_.id_at(due + 4 * day);
      add(due + 4 * day, "IssueRaised", id,
          body()
              .str("issue_id", issue)
              .str("summary", "庁内ネットワークへのアクセス権限が未付与")
              .done());
      add(due + 18 * day, "IssueResolved", id,
          body().str("issue_id", issue).str("resolution", "情報政策課がアカウントを発行").done());
    }
  }
  add(end_at + 18 * hour, "AppointmentEnded", id,
      body()
          .str("kind", early ? "early" : "completed")
          .str("reason", early ? "本業の異動により継続困難" : "任期満了")
          .done());
  (void)need_id;
  (void)lg;
}

// DOMAIN.md: a talent-driven idea has no need at first; the municipality takes it up, a need
// opens with origin talent_driven and the idea is attached to it, then goes the usual way.
void planner::taken_up_idea(const std::string& lg, std::int64_t t0, bool accepted) {
  const std::size_t training = 5;  // "職員向けのデジタル研修を企画したい": a trainer's offer
  const std::string& role = problem_roles[training];
  talent_plan* t = find_candidate(role, t0);
  if (!t) return;
  t->busy_until = t0 + 400 * day;
  const std::string officer = "officer-" + lg;
  std::string cand = dice_.id_at(t0);
  add(t0, "CandidateIdentified", cand,
      body()
          .str("talent_id", t->id)
          .str("direction", "talent_driven")
          .str("source", "coordinator_idea")
          .str("lg_code", lg)
          .done());
  add(t0 + 5 * day, "TalentContacted", cand, body().done());
  std::string need_id = dice_.id_at(t0 + 30 * day);
  add(t0 + 30 * day, "NeedOpened", need_id,
      body()
          .str("lg_code", lg)
          .str("origin", "talent_driven")
          .str("department", dice_.pick(departments))
          .str("problem", problems[training])
          .done());
  add(t0 + 31 * day, "CandidacyAttachedToNeed", cand, body().str("need_id", need_id).done());
  add(t0 + 35 * day, "InterestConfirmed", cand, body().done());
  add(t0 + 40 * day, "HearingRecorded", need_id,
      body()
          .str("hearing_id", dice_.id_at(t0 + 40 * day))
          .str("held_on", date_of(t0 + 40 * day))
          .list("attendees", {dice_.pick(family_names) + "課長"})
          .str("notes", "提案を受けて研修の対象と回数を確認。")
          .str("findings", "全職員向けの研修を年度内に実施")
          .done());
  add(t0 + 50 * day, "RequirementsDefined", need_id,
      body()
          .str("role_category", role)
          .str("tier", "hands_on")
          .list("skills", {"training"})
          .list("work_forms", {"spot", "remote"})
          .num("hours_per_week", 4)
          .num("duration_months", 6)
          .num("openings", 1)
          .done());
  add(t0 + 52 * day, "SourcingModeChosen", need_id, body().str("mode", "scout").done());
  add(t0 + 55 * day, "ProposalSubmitted", cand, body().done());
  add(t0 + 70 * day, "MunicipalDecisionRecorded", cand,
      body()
          .boolean("accepted", accepted)
          .str("reason", accepted ? "提案内容が課題に合致" : "今年度は予算が確保できない")
          .str("decided_by", dice_.pick(family_names) + "課長")
          .done(),
      officer, "municipality");
  if (!accepted) {
    add(t0 + 75 * day, "NeedClosed", need_id, body().str("reason", "no_match").done());
    return;
  }
  appointment_life(need_id, cand, lg, t0 + 80 * day, false);
  add(t0 + 82 * day, "NeedClosed", need_id, body().str("reason", "filled").done());
}

std::vector<planned> planner::plan() {
  talents();
  const auto& munis = tokyo_municipalities();
  auto code = [&](std::string_view name_en, std::string_view kind) {
    for (const auto& m : munis)
      if (m.name_en == name_en && m.kind == kind) return m.lg_code;
    return std::string();
  };
  // 22 appointments in 18 municipalities by 2025-12-01: four of them twice.
  struct filled {
    std::string lg;
    int year, month, appointments;
  };
  std::vector<filled> before = {
      {code("Shinagawa", "ward"), 2024, 5, 1}, {code("Shibuya", "ward"), 2024, 5, 2},
      {code("Toshima", "ward"), 2024, 6, 1},   {code("Kita", "ward"), 2024, 7, 1},
      {code("Itabashi", "ward"), 2024, 8, 1},  {code("Nerima", "ward"), 2024, 9, 1},
      {code("Adachi", "ward"), 2024, 10, 2},   {code("Edogawa", "ward"), 2024, 11, 1},
      {code("Sumida", "ward"), 2025, 1, 1},    {code("Hachioji", "city"), 2024, 6, 1},
      {code("Tachikawa", "city"), 2024, 9, 1}, {code("Musashino", "city"), 2025, 2, 1},
      {code("Mitaka", "city"), 2025, 4, 1},    {code("Machida", "city"), 2025, 5, 1},
      {code("Koganei", "city"), 2025, 6, 1},   {code("Tama", "city"), 2024, 7, 1},
      {code("Hino", "city"), 2025, 7, 1},      {code("Oshima", "town"), 2025, 3, 1},
      {code("Hachioji", "city"), 2025, 6, 1},  {code("Tama", "city"), 2025, 7, 1},
  };
  for (const auto& f : before)
    need(f.lg, tokyo_day(f.year, f.month, 3) + 10 * hour, f.appointments, 4);
  // After the headline date: more municipalities and second placements.
  std::vector<filled> after = {
      {code("Setagaya", "ward"), 2025, 12, 1}, {code("Fuchu", "city"), 2026, 1, 1},
      {code("Chofu", "city"), 2026, 2, 1},     {code("Nishitokyo", "city"), 2026, 4, 1},
      {code("Shibuya", "ward"), 2026, 5, 1},   {code("Kita", "ward"), 2026, 6, 2},
      {code("Kokubunji", "city"), 2026, 7, 1}, {code("Minato", "ward"), 2026, 8, 1},
  };
  // Opened late enough that nothing is arranged before the headline date.
  for (const auto& f : after)
    need(f.lg, tokyo_day(f.year, f.month, 5) + 10 * hour, f.appointments, 4);
  // Cases in every other state, spread over the municipalities and the years.
  for (int i = 0; i < 40; ++i) {
    const auto& m = munis[(static_cast<std::size_t>(i) * 17 + 3) % munis.size()];
    auto opened = tokyo_day(2024, 6, 1) + static_cast<std::int64_t>(i) * 22 * day + 10 * hour;
    int stage = i % 7 == 4 ? 4 - 1 : i % 7;  // never 4 (filled) here
    if (opened > tokyo_day(2025, 10, 1) && stage == 5) stage = 3;
    need(m.lg_code, opened, 0, stage == 4 ? 3 : stage);
  }
  // A hearing note corrected: the first need's first hearing, two days later.
  for (const auto& p : plan_) {
    if (p.request.type != "HearingRecorded") continue;
    auto hearing_pos = p.request.body_json.find("\"hearing_id\":\"") + 14;
    std::string hearing = p.request.body_json.substr(hearing_pos, 36);
    std::string supersedes = p.request.idempotency_key->to_string();
    std::string need_id = p.request.target_id;
    std::int64_t at = p.at + 2 * day;
    add(at, "HearingNoteCorrected", need_id,
        body()
            .str("hearing_id", hearing)
            .str("supersedes", supersedes)
            .str("notes", "現状の業務フローと課題を確認。RPA導入済みだが活用は一部の課に留まる。")
            .str("reason", "聞き取り内容の誤記を訂正")
            .done());
    break;
  }
  // Ideas taken up: one declined by Koto before the headline date, and one Ome accepts whose
  // appointment is arranged after it (2025-12-05), so the headline stays the seeds'.
  taken_up_idea(code("Koto", "ward"), tokyo_day(2025, 2, 3) + 10 * hour, false);
  taken_up_idea(code("Ome", "city"), tokyo_day(2025, 9, 16) + 10 * hour, true);
  std::stable_sort(plan_.begin(), plan_.end(), [](const planned& a, const planned& b) {
    return a.at != b.at ? a.at < b.at : a.seq < b.seq;
  });
  std::vector<planned> due;
  for (auto& p : plan_)
    if (p.at <= until_) due.push_back(std::move(p));
  return due;
}

}  // namespace

result<demo_stats> seed(event_store& store, command_service& service, std::int64_t until) {
  auto started = std::chrono::steady_clock::now();
  if (store.head_position() > tokyo_municipalities().size())
    return make_error(errc::conflict, "not_empty", "the data directory already has a history");
  if (auto listed = list_reference_municipalities(service, tokyo_day(2024, 4, 1)); !listed)
    return listed.take_err();
  process_manager manager(store, service);
  demo_stats stats;
  for (auto& p : planner(until).plan()) {
    bool withdrawal = p.request.type == "TalentWithdrew";
    if (p.what == planned::kind::erase) {
      if (auto erased = erase_talent(service, store, p.request.target_id, p.request.body_json,
                                     p.request.who, p.request.idempotency_key);
          !erased)
        return erased.take_err();
    } else {
      std::string what = p.request.type + " " + p.request.target_id;
      auto done = service.execute(std::move(p.request));
      if (!done)
        return make_error(done.err().kind, done.err().code,
                          "demo command " + what + " failed: " + done.err().message,
                          done.err().field);
    }
    ++stats.commands;
    if (withdrawal)
      if (auto handled = manager.poll(); !handled) return handled.take_err();
  }
  if (auto handled = manager.poll(); !handled) return handled.take_err();
  stats.events = store.head_position();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return stats;
}

}  // namespace kakehashi::demo
