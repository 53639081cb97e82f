#include "world/energy.hpp"

#include <algorithm>
#include <set>
#include <fmt/format.h>
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u/Engine.hpp>
#include <xbt/log.h>

namespace dmlsim {

namespace sg4 = simgrid::s4u;
using Json = nlohmann::ordered_json;

constexpr const char* kLoopback = "__loopback__";

void init_energy_plugin(bool links) {
  sg_host_energy_plugin_init();
  // The plugins warn about hosts without power when the platform loads (the defaults come right
  // after) and print their totals at exit; summary.json carries the figures instead.
  xbt_log_control_set("host_energy.thres:critical");
  if (!links) return;
  sg_link_energy_plugin_init();
  xbt_log_control_set("link_energy.thres:critical");
}

void apply_power_defaults(const EnergySpec& spec) {
  for (auto* host : sg4::Engine::get_instance()->get_all_hosts()) {
    if (!host->get_property("wattage_per_state"))
      host->set_property("wattage_per_state", fmt::format("{}:{}", spec.host_idle, spec.host_busy));
    if (!host->get_property("wattage_off")) host->set_property("wattage_off", fmt::format("{}", spec.host_off));
  }
  if (!spec.links) return;
  for (auto* link : sg4::Engine::get_instance()->get_all_links())
    if (link->get_name() != kLoopback && !link->get_property("wattage_range"))
      link->set_property("wattage_range", fmt::format("{}:{}", spec.link_idle, spec.link_busy));
}

namespace {

// Links on a route between two of the run's hosts, by whether the hosts share a zone.
struct RouteLinks {
  std::set<const sg4::Link*> inside_zone, across_zones;
};

RouteLinks route_links(const Placed& placed) {
  std::vector<std::pair<sg4::Host*, int>> hosts;
  for (std::size_t k = 0; k < placed.workers.size(); ++k) hosts.emplace_back(placed.workers[k], placed.worker_zones[k]);
  if (placed.server) hosts.emplace_back(placed.server, placed.server_zone);
  RouteLinks out;
  for (const auto& [from, from_zone] : hosts)
    for (const auto& [to, to_zone] : hosts) {
      if (from == to) continue;
      std::vector<sg4::Link*> links;
      double latency = 0;
      from->route_to(to, links, &latency);
      auto& into = from_zone == to_zone ? out.inside_zone : out.across_zones;
      into.insert(links.begin(), links.end());
    }
  return out;
}

}  // namespace

Json link_energy_json(const EnergySpec& spec, const Placed& placed) {
  auto links = sg4::Engine::get_instance()->get_all_links();
  std::sort(links.begin(), links.end(), [](const sg4::Link* a, const sg4::Link* b) { return a->get_name() < b->get_name(); });
  const auto routes = route_links(placed);
  double total = 0, wan = 0;
  for (const auto* link : links) {
    if (link->get_name() == kLoopback) continue;
    const double joules = sg_link_get_consumed_energy(link);
    total += joules;
    if (routes.across_zones.count(link) && !routes.inside_zone.count(link)) wan += joules;
  }
  Json out = {{"total_joules", total}};
  if (placed.platform_has_zones) {
    out["wan_joules"] = wan;
    out["other_joules"] = total - wan;
  }
  out["default_power"] = {{"idle_watts", spec.link_idle},
                          {"busy_watts", spec.link_busy},
                          {"note", "for links without a wattage_range property"}};
  return out;
}

EnergyMeter::EnergyMeter(std::vector<sg4::Host*> hosts) : hosts_(std::move(hosts)) {
  std::sort(hosts_.begin(), hosts_.end(), [](const sg4::Host* a, const sg4::Host* b) { return a->get_name() < b->get_name(); });
  hosts_.erase(std::unique(hosts_.begin(), hosts_.end()), hosts_.end());
}

double EnergyMeter::host_joules(const sg4::Host* host) { return sg_host_get_consumed_energy(host); }

double EnergyMeter::joules() const {
  double sum = 0;
  for (const auto* host : hosts_) sum += host_joules(host);
  return sum;
}

void EnergyMeter::follow_time() {
  // The whole interval since a host's last update is drawn at the power it had during it, so the
  // joules read as time reaches t are those up to t whatever runs at t afterwards.
  sg4::Engine::on_time_advance_cb([this](double) { at_last_advance_ = joules(); });
}

Json energy_json(const Scenario& s, const EnergyMeter& meter, const RunRecord& record, const Placed& placed) {
  const auto& workers = placed.workers;
  const auto* server = placed.server;
  Json per_worker = Json::array();
  for (std::size_t k = 0; k < workers.size(); ++k)
    per_worker.push_back(
        {{"worker", k}, {"host", workers[k]->get_name()}, {"joules", EnergyMeter::host_joules(workers[k])}});
  Json to_target = Json::array();
  for (const auto& hit : time_to_accuracy(record.rows, s.report.targets))
    to_target.push_back({{"target", hit.target}, {"joules", hit.first ? Json(hit.first->energy) : Json(nullptr)}});
  const auto& e = s.energy;
  Json out = {{"total_joules", meter.joules()},
          {"scope", s.energy.links ? "the server's and workers' hosts, each once; links under \"links\""
                                   : "the server's and workers' hosts, each once; links are not counted"},
          {"server", server ? Json({{"host", server->get_name()}, {"joules", EnergyMeter::host_joules(server)}})
                            : Json(nullptr)},
          {"workers", per_worker},
          {"to_target", to_target},
          {"default_power", {{"idle_watts", e.host_idle},
                             {"busy_watts", e.host_busy},
                             {"off_watts", e.host_off},
                             {"note", "for hosts without wattage_per_state / wattage_off properties"}}}};
  if (e.links) out["links"] = link_energy_json(e, placed);
  return out;
}

}  // namespace dmlsim
