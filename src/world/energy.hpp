// Energy of a run from SimGrid's host energy plugin: a host draws its idle power plus, in
// proportion to its load, up to its busy power (its wattage_per_state property, "idle:busy"
// watts), and wattage_off when turned off. The plugin must be initialised before the platform is
// loaded; hosts the platform gives no power get the scenario's <energy> defaults.
//
// Links (<energy links="true">): SimGrid's link energy plugin — a link draws its idle power plus
// (busy − idle) × its load / bandwidth (the wattage_range property, "idle:busy" watts). Its
// 3.32 version crashes when an actor blocked in a transfer no peer has matched is killed, or that
// wait times out; with it on, the actors wait through wait_any instead (sim/comm_waits.hpp).
#pragma once

#include "report/run_record.hpp"
#include "sim/placement.hpp"
#include "scenario/scenario.hpp"

#include <nlohmann/json.hpp>
#include <simgrid/s4u/Host.hpp>
#include <vector>

namespace dmlsim {

// Before Engine::load_platform.
void init_energy_plugin(bool links = false);
// After the platform is loaded: the defaults, as properties, on hosts (and, with links, on
// links) without their own.
void apply_power_defaults(const EnergySpec& spec);

// Joules of every link of the platform (the loopback excepted), split into WAN links — on a route
// between two of the run's hosts in different zones and on no route inside a zone — and the rest.
nlohmann::ordered_json link_energy_json(const EnergySpec& spec, const Placed& placed);

// Joules consumed by the run's hosts, each counted once whatever it runs.
class EnergyMeter {
 public:
  explicit EnergyMeter(std::vector<simgrid::s4u::Host*> hosts);
  double joules() const;  // up to the current simulated time (from maestro: outside the actors)
  static double host_joules(const simgrid::s4u::Host* host);

  // From now on, read joules() each time simulated time advances, in maestro, so that an actor
  // reads them (joules_now()) without a simcall. The plugin's own reading, from an actor, is a
  // simcall when the host's joules are behind the clock: the actor yields for a scheduling
  // sub-round, the others at the same instant go first, and turning energy on reorders their
  // sends and receives (its rows then differ from the same run without energy).
  void follow_time();
  // joules() as of the current simulated time (0 before time first advances: nothing drawn yet).
  double joules_now() const { return at_last_advance_; }

 private:
  std::vector<simgrid::s4u::Host*> hosts_;
  double at_last_advance_ = 0;
};

// summary.json's "energy": the total, per worker and server, and the energy to each report target
// on the raw curve (from the rows' cumulative joules).
nlohmann::ordered_json energy_json(const Scenario& scenario, const EnergyMeter& meter, const RunRecord& record,
                                   const Placed& placed);

}  // namespace dmlsim
