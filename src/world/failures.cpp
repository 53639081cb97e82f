#include "world/failures.hpp"

#include "util/rng.hpp"
#include "util/quote.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <simgrid/kernel/Timer.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

// The links of the routes both ways between two hosts.
std::vector<sg4::Link*> links_between(const sg4::Host* a, const sg4::Host* b) {
  std::vector<sg4::Link*> links;
  double latency = 0;
  a->route_to(b, links, &latency);
  b->route_to(a, links, &latency);
  return links;
}

bool uses_link(const sg4::Host* worker, const sg4::Host* server, const std::vector<sg4::Link*>& links) {
  const auto route = links_between(worker, server);
  return std::any_of(links.begin(), links.end(),
                     [&route](const sg4::Link* link) { return std::find(route.begin(), route.end(), link) != route.end(); });
}

// The workers a link failure may cut off: whose route to the server crosses one of `links`, or
// (server-less topologies) whose route to another worker does.
std::vector<int> workers_crossing(const Placed& placed, const std::vector<sg4::Link*>& links) {
  std::vector<int> workers;
  const auto& hosts = placed.workers;
  for (std::size_t k = 0; k < hosts.size(); ++k) {
    const bool crosses =
        placed.server ? uses_link(hosts[k], placed.server, links)
                      : std::any_of(hosts.begin(), hosts.end(), [&](const sg4::Host* other) { return uses_link(hosts[k], other, links); });
    if (crosses) workers.push_back(static_cast<int>(k));
  }
  return workers;
}

// The link of that name, or both halves of a split-duplex link of that name (none if neither).
std::vector<sg4::Link*> links_named(const std::string& name) {
  const auto& engine = *sg4::Engine::get_instance();
  if (auto* link = engine.link_by_name_or_null(name)) return {link};
  auto* up = engine.link_by_name_or_null(name + "_UP");
  auto* down = engine.link_by_name_or_null(name + "_DOWN");
  if (up && down) return {up, down};
  return {};
}

double now() { return sg4::Engine::get_clock(); }

}  // namespace

FailurePlan::FailurePlan(const Scenario& s, const Placed& placed, std::vector<std::uint64_t> partition_rows)
    : scenario_(s), placed_(placed), partition_rows_(std::move(partition_rows)), timeout_(s.failures.timeout),
      participants_{static_cast<int>(placed.workers.size())}, last_aggregated_(placed.workers.size(), 0.0),
      missed_(placed.workers.size(), 0), starts_(placed.workers.size(), 0) {
  const auto& engine = *sg4::Engine::get_instance();
  const auto where = [&s](const FailureSpec& e, const std::string& what) {
    return ScenarioError(s.file.string(), e.line, fmt::format("<{}> attribute 'name': {}", e.link ? "link" : "host", what));
  };
  for (const auto& e : s.failures.events) {
    Planned p;
    p.spec = e;
    if (e.link) {
      p.links = links_named(e.name);
      if (p.links.empty()) throw where(e, fmt::format("link {} is not in platform {}", quote_input(e.name), s.platform.file.string()));
      p.workers = workers_crossing(placed, p.links);
      if (p.workers.empty() && placed.server)
        throw where(e, fmt::format("link {} is on no route between a worker and the server {}", quote_input(e.name),
                                   placed.server->get_name()));
      if (p.workers.empty()) throw where(e, fmt::format("link {} is on no route between two workers", quote_input(e.name)));
    } else {
      p.host = engine.host_by_name_or_null(e.name);
      if (!p.host) throw where(e, fmt::format("host {} is not in platform {}", quote_input(e.name), s.platform.file.string()));
      for (std::size_t k = 0; k < placed.workers.size(); ++k)
        if (placed.workers[k] == p.host) p.workers.push_back(static_cast<int>(k));
      p.server = p.host == placed.server;
      if (p.workers.empty() && !p.server)
        throw where(e, fmt::format("host {} runs neither a worker nor the server", quote_input(e.name)));
    }
    planned_.push_back(p);
  }
}

void FailurePlan::start() {
  // Time-driven failures, in time order (file order among equal times).
  std::vector<const Planned*> timed;
  for (const auto& p : planned_)
    if (p.spec.at) timed.push_back(&p);
  std::stable_sort(timed.begin(), timed.end(), [](const Planned* a, const Planned* b) { return *a->spec.at < *b->spec.at; });
  for (const auto* p : timed) at(*p->spec.at, [this, p] { go_down(*p, p->host ? "host" : "link"); });
  if (!scenario_.failures.random) return;
  // Random failures: every worker host but the server's, each with its own stream.
  std::vector<sg4::Host*> hosts;
  for (auto* host : placed_.workers)
    if (host != placed_.server && std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(host);
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    std::vector<int> workers;
    for (std::size_t k = 0; k < placed_.workers.size(); ++k)
      if (placed_.workers[k] == hosts[i]) workers.push_back(static_cast<int>(k));
    random_.push_back({hosts[i], workers, Rng(derive_key(scenario_.seed, Stream::Failures, {i}))});
  }
  for (std::size_t i = 0; i < random_.size(); ++i) next_random_failure(i);
}

void FailurePlan::at(double date, std::function<void()> action) {
  const auto id = next_timer_++;
  timers_[id] = simgrid::kernel::timer::Timer::set(date, [this, id, action = std::move(action)] {
    timers_.erase(id);
    action();
  });
}

void FailurePlan::end() {
  for (auto& [id, timer] : timers_) timer->remove();
  timers_.clear();
}

double FailurePlan::exponential(std::size_t host_index, double mean) {
  return -mean * std::log1p(-random_[host_index].rng.uniform());
}

void FailurePlan::next_random_failure(std::size_t i) {
  const auto& random = *scenario_.failures.random;
  at(now() + exponential(i, random.mtbf), [this, i, &random] {
    auto& r = random_[i];
    records_.push_back({"random", r.host->get_name(), random.line, now(), round_, std::nullopt, r.workers});
    const auto record = records_.size() - 1;
    r.host->turn_off();
    if (!random.mttr) return;
    ++pending_repairs_;
    at(now() + exponential(i, *random.mttr), [this, i, record] {
      random_[i].host->turn_on();
      --pending_repairs_;
      records_[record].up_at = now();
      next_random_failure(i);
    });
  });
}

void FailurePlan::begin_round(int round) {
  round_ = round;
  if (static_cast<int>(participants_.size()) <= round) participants_.resize(static_cast<std::size_t>(round) + 1, 0);
  for (const auto& p : planned_)
    if (p.spec.round == round) go_down(p, p.host ? "host" : "link");
}

void FailurePlan::begin_round_apart(int round) {
  round_ = round;
  if (static_cast<int>(participants_.size()) <= round) participants_.resize(static_cast<std::size_t>(round) + 1, 0);
  for (const auto& p : planned_)
    if (p.spec.round == round) at(now(), [this, &p] { go_down(p, p.host ? "host" : "link"); });
}

void FailurePlan::go_down(const Planned& p, const std::string& source) {
  records_.push_back({source, p.spec.name, p.spec.line, now(), round_, std::nullopt, p.workers, p.server});
  went_down_.insert(&p);
  if (p.spec.down_for) come_back(p, records_.size() - 1, *p.spec.down_for);
  if (p.server)
    stop(fmt::format("the server's host {} went down at {} s (round {}, {}:{}); a parameter server's run cannot go on "
                     "without it", p.spec.name, now(), round_, scenario_.file.string(), p.spec.line));
  for (auto* link : p.links) link->turn_off();  // fails the transfers in flight across it
  if (!p.links.empty()) ++link_failures_;
  if (p.host) p.host->turn_off();               // kills its actors, the caller's too when it is the server's host
}

void FailurePlan::come_back(const Planned& p, std::size_t record, double after) {
  ++pending_repairs_;
  at(now() + after, [this, &p, record] {
    for (auto* link : p.links) link->turn_on();
    if (p.host) p.host->turn_on();  // restarts its workers (auto-restart actors)
    --pending_repairs_;
    records_[record].up_at = now();
  });
}

FailureRecord* FailurePlan::cause(int worker) {
  const auto k = static_cast<std::size_t>(worker);
  // The latest failure that cut this worker off since its last aggregated upload.
  for (auto it = records_.rbegin(); it != records_.rend(); ++it) {
    if (it->down_at < last_aggregated_[k]) break;
    if (std::find(it->workers.begin(), it->workers.end(), worker) != it->workers.end()) return &*it;
  }
  return nullptr;
}

void FailurePlan::count_round(FailureRecord& record, int round) {
  if (record.last_costly_round == round) return;
  record.last_costly_round = round;
  ++record.rounds_cost;
}

void FailurePlan::missed(int worker, int round) {
  const auto k = static_cast<std::size_t>(worker);
  ++missed_[k];
  auto* record = cause(worker);
  if (!record) {
    ++missed_without_failure_;
    return;
  }
  ++record->missed_uploads;
  record->rows_missed += partition_rows_[k];
  count_round(*record, round);
}

void FailurePlan::went_on_without(int worker, int update) {
  if (auto* record = cause(worker)) count_round(*record, update);
}

void FailurePlan::set_participants(int round, int count) { participants_[static_cast<std::size_t>(round)] = count; }

void FailurePlan::aggregated(int round, const std::vector<Arrival>& uploads) {
  set_participants(round, static_cast<int>(uploads.size()));
  for (const auto& upload : uploads) last_aggregated_[static_cast<std::size_t>(upload.worker)] = upload.time;
}

int FailurePlan::participants(int round) const {
  const auto r = static_cast<std::size_t>(round);
  return r < participants_.size() ? participants_[r] : 0;
}

bool FailurePlan::plans_links() const {
  return std::any_of(planned_.begin(), planned_.end(), [](const Planned& p) { return !p.links.empty(); });
}

bool FailurePlan::route_up(const sg4::Host* a, const sg4::Host* b) {
  const auto links = links_between(a, b);
  return std::all_of(links.begin(), links.end(), [](const sg4::Link* link) { return link->is_on(); });
}

bool FailurePlan::reachable(int worker) const {
  auto* host = placed_.workers[static_cast<std::size_t>(worker)];
  if (!host->is_on()) return false;
  if (!placed_.server) return true;  // server-less topologies: links are not planned (see Simulation)
  return route_up(host, placed_.server);
}

bool FailurePlan::comeback_possible() const {
  if (pending_repairs_ > 0) return true;
  for (std::size_t k = 0; k < placed_.workers.size(); ++k)
    if (reachable(static_cast<int>(k))) return true;
  return false;
}

// A failure the run never reached: its round did not come because a stop rule (target accuracy,
// max-time) ended the run first, or the run ended before its time `at`. A round after the last is
// refused up front; a time cannot be (a run's length is known only once it has run, and max-time
// ends a run at the first round end at or after it, not at it), so a time past the end is reported
// here like a round a stop rule cut off, rather than costing the run's outputs.
nlohmann::ordered_json FailurePlan::not_reached(const Planned& planned) {
  nlohmann::ordered_json e;
  e["source"] = planned.host ? "host" : "link";
  e["target"] = planned.spec.name;
  e["line"] = planned.spec.line;
  e["not_reached"] = true;
  e["down_at"] = nullptr;
  e["round"] = planned.spec.round ? nlohmann::ordered_json(*planned.spec.round) : nlohmann::ordered_json(nullptr);
  if (planned.spec.at) e["at"] = *planned.spec.at;
  e["up_at"] = nullptr;
  e["workers"] = planned.workers;
  if (planned.server) e["server"] = true;
  e["rounds_cost"] = 0;
  e["missed_uploads"] = 0;
  e["rows_missed"] = 0;
  return e;
}

nlohmann::ordered_json FailurePlan::summary() const {
  nlohmann::ordered_json events = nlohmann::ordered_json::array();
  for (const auto& r : records_) {
    nlohmann::ordered_json e;
    e["source"] = r.source;
    e["target"] = r.target;
    e["line"] = r.line;
    e["down_at"] = r.down_at;
    e["round"] = r.round;
    e["up_at"] = r.up_at ? nlohmann::ordered_json(*r.up_at) : nlohmann::ordered_json(nullptr);
    e["workers"] = r.workers;
    if (r.server) e["server"] = true;
    e["rounds_cost"] = r.rounds_cost;
    e["missed_uploads"] = r.missed_uploads;
    e["rows_missed"] = r.rows_missed;
    events.push_back(e);
  }
  for (const auto& p : planned_)
    if (!went_down_.count(&p)) events.push_back(not_reached(p));
  nlohmann::ordered_json j;
  j["timeout"] = timeout_;
  j["events"] = events;
  std::uint64_t missed = 0, rows_missed = 0, rows_out = 0;
  std::vector<int> out;
  for (std::size_t k = 0; k < missed_.size(); ++k) {
    missed += missed_[k];
    rows_missed += missed_[k] * partition_rows_[k];
    const bool left_out = std::find(left_out_at_end_.begin(), left_out_at_end_.end(), static_cast<int>(k)) != left_out_at_end_.end();
    if (!reachable(static_cast<int>(k)) || left_out) {
      out.push_back(static_cast<int>(k));
      rows_out += partition_rows_[k];
    }
  }
  j["missed_uploads"] = missed;
  j["missed_without_failure"] = missed_without_failure_;
  j["rows_missed"] = rows_missed;
  j["workers_out_at_end"] = out;
  j["rows_out_at_end"] = rows_out;
  j["missed_per_worker"] = missed_;
  return j;
}

}  // namespace dmlsim
