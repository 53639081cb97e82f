// Energy of a run from SimGrid's host energy plugin: a host draws its idle power plus, in
// proportion to its load, up to its busy power (its wattage_per_state property, "idle:busy"
// watts), and wattage_off when turned off. The plugin must be initialised before the platform is
// loaded; hosts the platform gives no power get the scenario's <energy> defaults.
//
// Links: SimGrid 3.32's link energy plugin (and its link load plugin) crash when an actor is
// killed while its receive is unmatched — which is how the daemon workers of a run end — so link
// energy is not reported (see README, Energy).
#pragma once

#include "report/run_record.hpp"
#include "scenario/scenario.hpp"

#include <nlohmann/json.hpp>
#include <simgrid/s4u/Host.hpp>
#include <vector>

namespace dmlsim {

// Before Engine::load_platform.
void init_energy_plugin();
// After the platform is loaded: the defaults, as properties, on hosts without their own.
void apply_power_defaults(const EnergySpec& spec);

// Joules consumed by the run's hosts, each counted once whatever it runs.
class EnergyMeter {
 public:
  explicit EnergyMeter(std::vector<simgrid::s4u::Host*> hosts);
  double joules() const;  // up to the current simulated time
  static double host_joules(const simgrid::s4u::Host* host);

 private:
  std::vector<simgrid::s4u::Host*> hosts_;
};

// summary.json's "energy": the total, per worker and server, and the energy to each report target
// on the raw curve (from the rows' cumulative joules).
nlohmann::ordered_json energy_json(const Scenario& scenario, const EnergyMeter& meter, const RunRecord& record,
                                   const std::vector<simgrid::s4u::Host*>& workers, const simgrid::s4u::Host* server);

}  // namespace dmlsim
