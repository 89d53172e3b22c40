// Tenant and role isolation, randomized, against a real server over real sockets (issue 7,
// "Security tests"). The test writes a world of its own through the HTTP API (four
// municipalities with needs, hearings, candidacies proposed and not, appointments with check-ins
// and amendments, talents, contacts), with a unique marker in every personal field, and keeps
// its own record of who owns what. It then judges every (token, subscription, event) combination
// against that record, without asking the server's authorization code:
//   - admin, coordinator and auditor see every event with its personal data;
//   - a dashboard sees every event and no personal data;
//   - a municipality sees its municipality stream (no contact's personal data), its needs (with
//     their hearing notes), the candidacies proposed to it and its appointments (without the
//     talent's, officer's, check-in's, approver's or placement texts' personal data), and nothing
//     else: no talent, no other municipality, no candidacy that was not proposed to it (nor its
//     id, nor its talent's, as a need's CandidateAttached would name them).
// Every subscription must deliver exactly the events it may (nothing hidden that it may see,
// nothing it may not), in order, with personal data only where allowed; HTTP queries are held
// to the same rules, and a municipality's answers must not name another tenant's ids.
// The seed is fixed (KAKEHASHI_SECURITY_SEED overrides it) so a failure can be replayed.
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "events/domain.h"
#include "http_helpers.h"
#include "ws_support.h"

namespace kakehashi::test {

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* tenants[] = {"131016", "131024", "131130", "132241"};
constexpr const char* bystander = "131032";  // a municipality with a token and no cases

// Markers planted in personal fields; lower case, as the checks compare lower-cased text.
constexpr const char* talent_pii = "zqxtalent";
constexpr const char* hearing_pii = "zqxhearing";  // followed by the need's lg_code
constexpr const char* officer_pii = "zqxofficer";
constexpr const char* checkin_pii = "zqxcheckin";
constexpr const char* approver_pii = "zqxapprover";
constexpr const char* contact_pii = "zqxcontact";
// What is written about a placement: suspension, resumption, issue, resolution.
constexpr const char* placement_pii = "zqxplacement";

std::uint64_t seed() {
  const char* env = std::getenv("KAKEHASHI_SECURITY_SEED");
  return env ? std::strtoull(env, nullptr, 10) : 20261123;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

enum class sight { hidden, redacted, full };

struct principal {
  std::string name;  // for messages
  access_role role;
  std::string lg;  // municipality only
  std::string token;
};

// What the test wrote, and who may see it.
struct world {
  std::map<std::string, std::string> owner;  // stream -> lg_code of the municipality it concerns
  std::set<std::string> proposed;            // candidacy streams proposed to their municipality
  std::vector<std::string> streams;          // every stream the test wrote to
  std::map<std::string, std::set<std::string>> allowed_talents;  // lg -> talents proposed to it
  std::vector<std::string> talents;
  std::map<std::string, std::string> talent_of;       // candidacy stream -> talent id
  std::map<std::string, std::string> appointment_of;  // lg -> its (started) appointment's id

  void add(const std::string& stream, const std::string& lg) {
    if (!owner.count(stream)) streams.push_back(stream);
    owner[stream] = lg;
  }

  sight of(const principal& p, const std::string& stream) const {
    switch (p.role) {
      case access_role::admin:
      case access_role::coordinator:
      case access_role::auditor:
        return sight::full;
      case access_role::dashboard:
        return sight::redacted;
      case access_role::municipality:
        break;
    }
    auto category = stream.substr(0, stream.find('-'));
    if (category == "municipality")
      return stream == "municipality-" + p.lg ? sight::redacted : sight::hidden;
    auto it = owner.find(stream);
    if (it == owner.end() || it->second != p.lg) return sight::hidden;
    if (category == "need") return sight::full;
    if (category == "candidacy") return proposed.count(stream) ? sight::redacted : sight::hidden;
    if (category == "appointment") return sight::redacted;
    return sight::hidden;
  }

  // One event: as its stream, except that a CandidateAttached on a need names a candidacy, which
  // a municipality hears of only once it is proposed. `attached` is the candidacy it names.
  sight of(const principal& p, const std::string& stream, std::string_view type,
           std::string_view attached) const {
    sight s = of(p, stream);
    if (p.role == access_role::municipality && type == "CandidateAttached" &&
        !proposed.count("candidacy-" + std::string(attached)))
      return sight::hidden;
    return s;
  }
  sight of(const principal& p, const recorded_event& e) const {
    std::string attached;
    if (e.type == "CandidateAttached") {
      need_state folded;  // the domain's own decoding of the event, not the server's access rules
      evolve(folded, event_view{{}, e.type, e.payload, e.occurred_at, e.version});
      if (folded.candidacies.size() == 1) attached = folded.candidacies.begin()->first;
    }
    return of(p, e.stream, e.type, attached);
  }
  sight of(const principal& p, const json::object& event) const {
    std::string attached;
    if (auto* data = event.at("data").as_object().if_contains("candidacy_id"))
      attached = std::string(data->as_string());
    return of(p, std::string(event.at("subject").as_string()),
              std::string(event.at("type").as_string()), attached);
  }

  // Ids a municipality's answers must never contain.
  std::vector<std::string> foreign_ids(const principal& p) const {
    std::vector<std::string> out;
    if (p.role != access_role::municipality) return out;
    for (const auto& [stream, lg] : owner) {
      auto dash = stream.find('-');
      auto category = stream.substr(0, dash);
      // A municipality stream's id is an lg_code; talents are judged below.
      if (category == "municipality" || category == "talent") continue;
      if (of(p, stream) == sight::hidden) out.push_back(stream.substr(dash + 1));
    }
    auto allowed = allowed_talents.find(p.lg);
    for (const auto& t : talents)
      if (allowed == allowed_talents.end() || !allowed->second.count(t)) out.push_back(t);
    return out;
  }
};

// What in `text` (an event or an answer) `p` may not have; "" when nothing.
std::string personal_data_violation(const principal& p, std::string_view text) {
  if (p.role == access_role::admin || p.role == access_role::coordinator ||
      p.role == access_role::auditor)
    return "";
  const std::string l = lower(text);
  if (p.role == access_role::dashboard) return contains(l, "zqx") ? "personal data" : "";
  for (const char* marker :
       {talent_pii, officer_pii, checkin_pii, approver_pii, contact_pii, placement_pii})
    if (contains(l, marker)) return std::string("personal data ") + marker;
  for (auto at = l.find(hearing_pii); at != std::string::npos; at = l.find(hearing_pii, at + 1))
    if (l.compare(at + std::strlen(hearing_pii), p.lg.size(), p.lg) != 0)
      return "another municipality's hearing notes";
  return "";
}

// Writes the world through the HTTP API as a coordinator.
world build_world(stream_server& server) {
  world w;
  caller coordinator{server.port(), server.token(access_role::coordinator)};
  auto id = [](const json::object& o, std::string_view key) { return str(o, key); };
  for (std::string lg : tenants) {
    coordinator.ok("/v1/municipalities/" + lg + "/contact",
                   R"({"contact":{"name":")" + std::string(contact_pii) + lg + R"(","email":")" +
                       contact_pii + lg + R"(@example.jp"}})");
    w.add("municipality-" + lg, lg);
    std::vector<std::string> talent;
    for (int k = 0; k < 3; ++k) {
      std::string tag = std::string(talent_pii) + lg + "x" + std::to_string(k);
      std::string body = registration(tag);
      body.replace(body.find("hanako@example.jp"), 17, tag + "@example.jp");
      body.replace(body.find("Example KK"), 10, tag + " KK");
      talent.push_back(id(coordinator.created("/v1/talents", body), "talent_id"));
      w.add("talent-" + talent.back(), "");
      w.talents.push_back(talent.back());
    }
    const std::string hearing = R"({"held_on":"2025-05-01","attendees":[")" +
                                std::string(hearing_pii) + lg + R"( 係長"],"notes":")" +
                                hearing_pii + lg + R"( メモ","findings":"RPA"})";
    std::string needs[2];
    for (auto& n : needs) {
      n = id(coordinator.created("/v1/needs", need_body(lg)), "need_id");
      w.add("need-" + n, lg);
      coordinator.ok("/v1/needs/" + n + "/hearings", hearing);
    }
    coordinator.ok(
        "/v1/needs/" + needs[0] + "/requirements",
        R"({"role_category":"rpa_specialist","tier":"hands_on","skills":["rpa"],)"
        R"("work_forms":["remote"],"hours_per_week":8,"duration_months":6,"openings":1})");
    auto candidacy = [&](const std::string& talent_id, const std::string& need_id) {
      std::string body = need_id.empty()
                             ? R"({"talent_id":")" + talent_id +
                                   R"(","direction":"talent_driven","source":"idea","lg_code":")" +
                                   lg + R"("})"
                             : R"({"talent_id":")" + talent_id + R"(","need_id":")" + need_id +
                                   R"(","direction":"need_driven","source":"scout"})";
      std::string c = id(coordinator.created("/v1/candidacies", body), "candidacy_id");
      w.add("candidacy-" + c, lg);
      w.talent_of["candidacy-" + c] = talent_id;
      coordinator.ok("/v1/candidacies/" + c + "/contact");
      return c;
    };
    // Proposed, decided and appointed: the municipality sees it (without personal data).
    std::string chosen = candidacy(talent[0], needs[0]);
    coordinator.ok("/v1/candidacies/" + chosen + "/interest");
    coordinator.ok("/v1/candidacies/" + chosen + "/propose");
    w.proposed.insert("candidacy-" + chosen);
    w.allowed_talents[lg].insert(talent[0]);
    coordinator.ok("/v1/candidacies/" + chosen + "/decision",
                   R"({"accepted":true,"reason":"経験","decided_by":")" + std::string(officer_pii) +
                       lg + R"("})",
                   {{"X-On-Behalf-Of", "municipality:" + lg}});
    std::string appointment =
        id(coordinator.created("/v1/appointments",
                               R"({"candidacy_id":")" + chosen +
                                   R"(","form":"remote","starts_on":"2025-08-01",)"
                                   R"("ends_on":"2026-03-31","hours_per_week":8,"scope":"RPA"})"),
           "appointment_id");
    w.add("appointment-" + appointment, lg);
    w.appointment_of[lg] = appointment;
    const std::string a = "/v1/appointments/" + appointment;
    coordinator.ok(a + "/start");
    auto check_in = coordinator.ok(a + "/check-ins", R"({"due_on":"2025-09-01","party":"talent"})");
    coordinator.ok(a + "/check-ins", R"({"check_in_id":")" + str(check_in, "check_in_id") +
                                         R"(","party":"talent","rating":4,"notes":")" +
                                         checkin_pii + lg + R"("})");
    coordinator.ok(a + "/amend", R"({"kind":"scope_expansion","effective_on":"2025-10-01",)"
                                 R"("changes":{"scope":"RPAと保守"},"approved_by":")" +
                                     std::string(approver_pii) + lg + R"("})");
    const std::string placement = std::string(placement_pii) + lg;
    coordinator.ok(a + "/suspend", R"({"reason":")" + placement + R"(-suspended"})");
    coordinator.ok(a + "/resume", R"({"reason":")" + placement + R"(-resumed"})");
    auto issue = coordinator.ok(a + "/issues", R"({"summary":")" + placement + R"(-issue"})");
    coordinator.ok(a + "/issues/" + str(issue, "issue_id") + "/resolve",
                   R"({"resolution":")" + placement + R"(-resolved"})");
    // Identified and contacted only, and a talent-driven idea: never shown to the municipality.
    candidacy(talent[1], needs[0]);
    candidacy(talent[2], needs[1]);
    candidacy(talent[1], "");
    // An idea the municipality took up, attached to the need opened for it and not proposed
    // yet: hidden, and the need's CandidateAttached with it, as any candidacy before a proposal.
    std::string taken_up = candidacy(talent[2], "");
    std::string opened_for_it = need_body(lg);
    opened_for_it.replace(opened_for_it.find("municipality_request"), 20, "talent_driven");
    std::string idea_need = id(coordinator.created("/v1/needs", opened_for_it), "need_id");
    w.add("need-" + idea_need, lg);
    coordinator.ok("/v1/candidacies/" + taken_up + "/attach",
                   R"({"need_id":")" + idea_need + R"("})");
  }
  return w;
}

std::vector<principal> principals(stream_server& server) {
  std::vector<principal> out = {
      {"admin", access_role::admin, "", server.token(access_role::admin)},
      {"coordinator", access_role::coordinator, "", server.token(access_role::coordinator)},
      {"auditor", access_role::auditor, "", server.token(access_role::auditor)},
      {"dashboard", access_role::dashboard, "", server.token(access_role::dashboard)}};
  for (std::string lg : tenants)
    out.push_back({"municipality:" + lg, access_role::municipality, lg,
                   server.token(access_role::municipality, lg)});
  out.push_back({std::string("municipality:") + bystander, access_role::municipality, bystander,
                 server.token(access_role::municipality, bystander)});
  return out;
}

// A random subscription: what it asks for and which stored events match it (authorization
// aside).
struct subscription {
  std::string id, stream;
  std::vector<std::string> types;
  std::string from;  // "start", "end" or a position
  position_t first = 1;

  bool matches(const recorded_event& e) const {
    if (e.position < first) return false;
    if (!types.empty() && std::find(types.begin(), types.end(), e.type) == types.end())
      return false;
    if (stream == "$all") return true;
    if (stream.rfind("$ce-", 0) == 0) return e.stream.rfind(stream.substr(4) + "-", 0) == 0;
    return e.stream == stream;
  }
  std::string message() const {
    json::object m{{"op", "subscribe"}, {"id", id}, {"stream", stream}};
    if (from == "start" || from == "end")
      m["from"] = from;
    else
      m["from"] = std::stoull(from);
    if (!types.empty()) {
      json::array t;
      for (const auto& type : types)
        t.push_back(json::string(type));
      m["types"] = std::move(t);
    }
    return json::serialize(m);
  }
};

subscription random_subscription(std::mt19937_64& rng, const world& w,
                                 const std::vector<std::string>& types, position_t head,
                                 std::string id) {
  static const char* categories[] = {"$all",
                                     "$all",
                                     "$all",
                                     "$ce-need",
                                     "$ce-talent",
                                     "$ce-candidacy",
                                     "$ce-appointment",
                                     "$ce-municipality",
                                     "$ce-audit"};
  subscription s;
  s.id = std::move(id);
  if (rng() % 3 == 0)
    s.stream = w.streams[rng() % w.streams.size()];
  else
    s.stream = categories[rng() % std::size(categories)];
  if (rng() % 4 == 0) {
    for (std::size_t n = 1 + rng() % 3; n > 0; --n)
      s.types.push_back(types[rng() % types.size()]);
  }
  switch (rng() % 10) {
    case 0:
      s.from = "end";
      s.first = head + 1;
      break;
    case 1:
    case 2:
    case 3:
    case 4:
      s.from = "start";
      s.first = 1;
      break;
    default:
      s.first = 1 + rng() % head;
      s.from = std::to_string(s.first);
  }
  return s;
}

// Judges one delivered event: the caller counts problems with CHECKs.
struct judged {
  std::size_t combinations = 0;  // (token, subscription, event) triples decided
  std::size_t delivered = 0;
  std::size_t with_personal_data = 0;  // full deliveries that carried a marker
};

}  // namespace

TEST_CASE("security: randomized subscriptions deliver exactly what each token may see") {
  stream_server server;
  world w = build_world(server);
  auto who = principals(server);
  REQUIRE(server.projections().wait_for(server.store().head_position(), 10s));
  // The log as stored, re-read before each connection: reads may append audit events.
  std::vector<event_ptr> stored;
  std::map<position_t, const recorded_event*> by_position;
  auto reload = [&] {
    stored = server.all_events();
    by_position.clear();
    for (const auto& e : stored)
      by_position[e->position] = e.get();
    return stored.back()->position;
  };
  reload();
  std::set<std::string> type_set;
  for (const auto& e : stored)
    type_set.insert(e->type);
  std::vector<std::string> types(type_set.begin(), type_set.end());

  std::mt19937_64 rng(seed());
  INFO("KAKEHASHI_SECURITY_SEED=" << seed());
  judged total;
  std::size_t subscriptions = 0;
  std::map<std::string, std::size_t> full_markers;  // principal -> full deliveries with markers
  for (int round = 0; round < 4; ++round) {
    for (const auto& p : who) {
      const position_t head = reload();
      const auto foreign = w.foreign_ids(p);
      ws_client c;
      ws_connect_options o;
      o.token = p.token;
      REQUIRE(c.connect_ok(server.port(), o));
      std::map<std::string, subscription> subs;
      for (int i = 0; i < 15; ++i) {
        auto s = random_subscription(rng, w, types, head, "s" + std::to_string(i));
        c.send(s.message());
        subs.emplace(s.id, std::move(s));
      }
      std::map<std::string, std::vector<position_t>> got;
      std::map<std::string, position_t> caught_up_at;
      std::size_t caught_up = 0;
      while (caught_up < subs.size()) {
        auto text = c.read_text();
        REQUIRE_MESSAGE(text.has_value(), p.name << ": no message (closed: " << c.closed() << ")");
        auto m = json::parse(*text).as_object();
        std::string sub(m.at("sub").as_string());
        REQUIRE_MESSAGE(subs.count(sub), *text);
        std::string op(m.at("op").as_string());
        if (op == "caught_up") {
          caught_up_at[sub] = m.at("position").to_number<position_t>();
          ++caught_up;
          continue;
        }
        REQUIRE_MESSAGE(op == "event", p.name << ": " << *text);
        const auto& event = m.at("event").as_object();
        auto position = event.at("position").to_number<position_t>();
        std::string stream(event.at("subject").as_string());
        const std::string event_text = json::serialize(event);
        auto problem = personal_data_violation(p, event_text);
        CHECK_MESSAGE(problem.empty(), p.name << " on " << subs[sub].message() << ": " << problem
                                              << " in " << event_text);
        for (const auto& id : foreign)
          CHECK_MESSAGE(event_text.find(id) == std::string::npos,
                        p.name << " got " << id << " in " << event_text);
        auto sees = w.of(p, event);
        CHECK_MESSAGE(sees != sight::hidden, p.name << " got " << stream << " " << event.at("type")
                                                    << " on " << subs[sub].message());
        if (sees == sight::full && contains(lower(event_text), "zqx")) ++full_markers[p.name];
        got[sub].push_back(position);
        ++total.delivered;
      }
      // Up to its caught_up position, exactly the events the subscription matches and the
      // token may see, in order. (Events after it arrived live, checked one by one above.)
      reload();
      for (const auto& [id, s] : subs) {
        const position_t last = caught_up_at.at(id);
        std::vector<position_t> expected, delivered;
        for (const auto& [position, e] : by_position) {
          if (position < s.first || position > last) continue;
          ++total.combinations;
          if (s.matches(*e) && w.of(p, *e) != sight::hidden) expected.push_back(position);
        }
        for (position_t position : got[id])
          if (position <= last) delivered.push_back(position);
        CHECK_MESSAGE(delivered == expected, p.name << " on " << s.message() << ": got "
                                                    << delivered.size() << " events, expected "
                                                    << expected.size());
        ++subscriptions;
      }
    }
  }
  MESSAGE("isolation: " << total.combinations << " (token, subscription, event) combinations over "
                        << subscriptions << " subscriptions, " << total.delivered
                        << " deliveries checked");
  CHECK(total.combinations >= 10000);
  // The checks have teeth: full roles did receive personal data, and each municipality its own
  // hearing notes.
  CHECK(full_markers["admin"] > 0);
  CHECK(full_markers["auditor"] > 0);
  for (std::string lg : tenants)
    CHECK_MESSAGE(full_markers["municipality:" + lg] > 0, lg);
}

TEST_CASE("security: HTTP queries answer each token only what it may see") {
  stream_server server;
  world w = build_world(server);
  auto who = principals(server);
  REQUIRE(server.projections().wait_for(server.store().head_position(), 10s));
  std::size_t combinations = 0, answers = 0;
  for (const auto& p : who) {
    caller as{server.port(), p.token};
    const auto foreign = w.foreign_ids(p);
    const bool municipality = p.role == access_role::municipality;
    // Every query of the read side, for every resource of the world.
    struct query {
      std::string target;
      std::string stream;  // the resource's stream, if it is one
    };
    std::vector<query> queries = {
        {"/v1/events?from=1&limit=1000", ""}, {"/v1/pipeline", ""}, {"/v1/work-queue", ""},
        {"/v1/municipalities", ""},           {"/v1/talents", ""},  {"/v1/metrics/headline", ""},
        {"/v1/metrics/funnel", ""},           {"/v1/ideas", ""}};
    for (std::string lg : tenants)
      queries.push_back({"/v1/pipeline?lg_code=" + lg, "municipality-" + lg});
    for (const auto& stream : w.streams) {
      auto dash = stream.find('-');
      std::string category = stream.substr(0, dash), id = stream.substr(dash + 1);
      queries.push_back({"/v1/streams/" + stream + "?limit=1000", stream});
      if (category == "municipality") continue;
      std::string collection = category == "candidacy" ? "candidacies" : category + "s";
      queries.push_back({"/v1/" + collection + "/" + id, stream});
      if (category == "need") queries.push_back({"/v1/needs/" + id + "/matches", stream});
    }
    for (const auto& q : queries) {
      CAPTURE(p.name);
      CAPTURE(q.target);
      const position_t head_before = server.store().head_position();
      auto res = as.get(q.target);
      ++answers;
      const bool resource = !q.stream.empty() && q.target.rfind("/v1/streams/", 0) != 0;
      const sight sees = q.stream.empty() ? sight::full : w.of(p, q.stream);
      if (municipality && (q.target == "/v1/talents" || q.target == "/v1/ideas" ||
                           q.target.rfind("/v1/metrics/", 0) == 0 ||
                           q.target.find("/matches") != std::string::npos)) {
        CHECK(res.result() == http::status::forbidden);  // the pool and cross-tenant figures
        continue;
      }
      if (resource && municipality) {
        // Its own resources are answered; the talent pool and other municipalities' views are
        // forbidden; another case is not found, as an unknown id.
        if (sees != sight::hidden)
          CHECK(res.result() == http::status::ok);
        else if (q.stream.rfind("talent-", 0) == 0 || q.stream.rfind("municipality-", 0) == 0)
          CHECK(res.result() == http::status::forbidden);
        else
          CHECK(res.result() == http::status::not_found);
      } else if (!municipality) {
        CHECK(res.result() == http::status::ok);
      }
      if (res.result() != http::status::ok) continue;
      auto problem = personal_data_violation(p, res.body());
      CHECK_MESSAGE(problem.empty(), problem << " in " << res.body().substr(0, 400));
      for (const auto& id : foreign)
        if (q.target.find(id) == std::string::npos)  // an answer may repeat what was asked
          CHECK_MESSAGE(
              res.body().find(id) == std::string::npos,
              "names " << id << " in ..."
                       << res.body().substr(
                              res.body().find(id) > 300 ? res.body().find(id) - 300 : 0, 400));
      // Lists of events: each item one the token may see, and every one it may see there.
      auto body = json_of(res);
      if (!body.contains("events")) continue;
      std::set<position_t> listed;
      for (const auto& item : body.at("events").as_array()) {
        std::string stream(item.at("subject").as_string());
        CHECK_MESSAGE(w.of(p, item.as_object()) != sight::hidden, "lists " << stream);
        listed.insert(item.at("position").to_number<position_t>());
      }
      for (const auto& e : server.all_events()) {
        if (e->position > head_before) break;
        if (!q.stream.empty() && e->stream != q.stream) continue;
        ++combinations;
        if (w.of(p, *e) != sight::hidden)
          CHECK_MESSAGE(listed.count(e->position) == 1, "misses " << e->stream << " " << e->type);
      }
    }
  }
  MESSAGE("isolation over HTTP: " << answers << " answers, " << combinations
                                  << " (token, query, event) combinations");
  CHECK(combinations >= 1000);
}

TEST_CASE("security: live deliveries keep to the same rules") {
  stream_server server;
  world w = build_world(server);
  auto who = principals(server);
  REQUIRE(server.projections().wait_for(server.store().head_position(), 10s));
  std::set<std::string> type_set;
  for (const auto& e : server.all_events())
    type_set.insert(e->type);
  type_set.insert("TalentRegistered");
  std::vector<std::string> types(type_set.begin(), type_set.end());
  std::mt19937_64 rng(seed() + 1);
  INFO("KAKEHASHI_SECURITY_SEED=" << seed());

  // Everyone subscribes from the end, and is caught up, before the batch is written.
  const position_t head = server.store().head_position();
  struct listener {
    const principal* p;
    std::unique_ptr<ws_client> c;
    std::map<std::string, subscription> subs;
    std::map<std::string, std::vector<position_t>> got;
  };
  std::vector<listener> listeners;
  for (const auto& p : who) {
    listener l{&p, std::make_unique<ws_client>(), {}, {}};
    ws_connect_options o;
    o.token = p.token;
    REQUIRE(l.c->connect_ok(server.port(), o));
    for (int i = 0; i < 16; ++i) {
      auto s = random_subscription(rng, w, types, head, "s" + std::to_string(i));
      s.from = "end";
      s.first = head + 1;
      l.c->send(s.message());
      l.subs.emplace(s.id, std::move(s));
    }
    for (std::size_t caught_up = 0; caught_up < l.subs.size();) {
      auto m = l.c->read();
      REQUIRE_MESSAGE(m.at("op") == "caught_up", json::serialize(m));
      ++caught_up;
    }
    listeners.push_back(std::move(l));
  }

  // The batch, per municipality: a new need with a hearing, a talent and a candidate for the new
  // need (never proposed), a completed check-in on its appointment, a new contact.
  caller coordinator{server.port(), server.token(access_role::coordinator)};
  for (std::string lg : tenants) {
    std::string need = str(coordinator.created("/v1/needs", need_body(lg)), "need_id");
    w.add("need-" + need, lg);
    coordinator.ok("/v1/needs/" + need + "/hearings", R"({"held_on":"2025-06-01","notes":")" +
                                                          std::string(hearing_pii) + lg + R"("})");
    std::string tag = std::string(talent_pii) + lg + "live";
    std::string body = registration(tag);
    body.replace(body.find("hanako@example.jp"), 17, tag + "@example.jp");
    std::string talent = str(coordinator.created("/v1/talents", body), "talent_id");
    w.add("talent-" + talent, "");
    w.talents.push_back(talent);
    std::string candidacy =
        str(coordinator.created("/v1/candidacies",
                                R"({"talent_id":")" + talent + R"(","need_id":")" + need +
                                    R"(","direction":"need_driven","source":"scout"})"),
            "candidacy_id");
    w.add("candidacy-" + candidacy, lg);
    coordinator.ok("/v1/candidacies/" + candidacy + "/contact");
    coordinator.ok("/v1/appointments/" + w.appointment_of.at(lg) + "/check-ins",
                   R"({"party":"municipality","rating":3,"notes":")" + std::string(checkin_pii) +
                       lg + R"("})");
    coordinator.ok("/v1/municipalities/" + lg + "/contact",
                   R"({"contact":{"name":")" + std::string(contact_pii) + lg + R"(live"}})");
  }
  REQUIRE(server.projections().wait_for(server.store().head_position(), 10s));
  std::vector<event_ptr> batch;
  for (const auto& e : server.all_events())
    if (e->position > head) batch.push_back(e);
  REQUIRE(batch.size() >= 4 * 8);

  std::size_t combinations = 0, delivered = 0;
  for (auto& l : listeners) {
    const principal& p = *l.p;
    CAPTURE(p.name);
    const auto foreign = w.foreign_ids(p);
    std::map<std::string, std::vector<position_t>> expected;
    std::size_t wanted = 0;
    for (const auto& [id, s] : l.subs) {
      auto& list = expected[id];
      for (const auto& e : batch) {
        ++combinations;
        if (s.matches(*e) && w.of(p, *e) != sight::hidden) list.push_back(e->position);
      }
      wanted += list.size();
    }
    // Read what is due, then a little longer for anything that should not come.
    std::size_t received = 0;
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto text = l.c->read_text(received >= wanted ? 300ms : 1000ms);
      if (!text) {
        if (received >= wanted || l.c->closed()) break;
        continue;
      }
      auto m = json::parse(*text).as_object();
      REQUIRE_MESSAGE(m.at("op") == "event", *text);
      const auto& event = m.at("event").as_object();
      const std::string event_text = json::serialize(event);
      CHECK_MESSAGE(w.of(p, event) != sight::hidden, "got " << event_text);
      auto problem = personal_data_violation(p, event_text);
      CHECK_MESSAGE(problem.empty(), problem << " in " << event_text);
      for (const auto& id : foreign)
        CHECK_MESSAGE(event_text.find(id) == std::string::npos, "names " << id);
      l.got[std::string(m.at("sub").as_string())].push_back(
          event.at("position").to_number<position_t>());
      ++received;
      ++delivered;
    }
    for (const auto& [id, s] : l.subs)
      CHECK_MESSAGE(l.got[id] == expected[id], "on " << s.message() << ": got " << l.got[id].size()
                                                     << ", expected " << expected[id].size());
  }
  MESSAGE("live isolation: " << combinations << " (token, subscription, event) combinations, "
                             << delivered << " live deliveries checked");
  CHECK(combinations >= 4000);
}

}  // namespace kakehashi::test
