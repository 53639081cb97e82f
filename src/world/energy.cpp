#include "world/energy.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u/Engine.hpp>
#include <xbt/log.h>

namespace dmlsim {

namespace sg4 = simgrid::s4u;
using Json = nlohmann::ordered_json;

void init_energy_plugin() {
  sg_host_energy_plugin_init();
  // The plugin warns about hosts without power when the platform loads (the defaults come right
  // after) and prints its totals at exit; summary.json carries the figures instead.
  xbt_log_control_set("host_energy.thres:critical");
}

void apply_power_defaults(const EnergySpec& spec) {
  for (auto* host : sg4::Engine::get_instance()->get_all_hosts()) {
    if (!host->get_property("wattage_per_state"))
      host->set_property("wattage_per_state", fmt::format("{}:{}", spec.host_idle, spec.host_busy));
    if (!host->get_property("wattage_off")) host->set_property("wattage_off", fmt::format("{}", spec.host_off));
  }
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

Json energy_json(const Scenario& s, const EnergyMeter& meter, const RunRecord& record,
                 const std::vector<sg4::Host*>& workers, const sg4::Host* server) {
  Json per_worker = Json::array();
  for (std::size_t k = 0; k < workers.size(); ++k)
    per_worker.push_back(
        {{"worker", k}, {"host", workers[k]->get_name()}, {"joules", EnergyMeter::host_joules(workers[k])}});
  Json to_target = Json::array();
  for (const auto& hit : time_to_accuracy(record.rows, s.report.targets))
    to_target.push_back({{"target", hit.target}, {"joules", hit.first ? Json(hit.first->energy) : Json(nullptr)}});
  const auto& e = s.energy;
  return {{"total_joules", meter.joules()},
          {"scope", "the server's and workers' hosts, each once; links are not counted"},
          {"server", server ? Json({{"host", server->get_name()}, {"joules", EnergyMeter::host_joules(server)}})
                            : Json(nullptr)},
          {"workers", per_worker},
          {"to_target", to_target},
          {"default_power", {{"idle_watts", e.host_idle},
                             {"busy_watts", e.host_busy},
                             {"off_watts", e.host_off},
                             {"note", "for hosts without wattage_per_state / wattage_off properties"}}}};
}

}  // namespace dmlsim
