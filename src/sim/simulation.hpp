// The simulation facade (as WRENCH's): owns the SimGrid engine, the loaded platform and the
// experiment; checks everything before the clock starts, then runs and returns the record.
// One Simulation per process: SimGrid keeps global state across engines.
#pragma once

#include "experiment/experiment.hpp"
#include "report/outputs.hpp"
#include "scenario/scenario.hpp"
#include "sim/network.hpp"
#include "sim/placement.hpp"
#include "sim/sim_context.hpp"
#include "sim/topology/topology.hpp"
#include "sim/trace_file.hpp"

#include <memory>
#include <stdexcept>

#include <simgrid/s4u/Engine.hpp>

namespace dmlsim {

// The run started but could not finish (divergence, deadlock).
struct SimulationFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class FailurePlan;

class Simulation {
 public:
  // Loads data and platform and validates the scenario against them. Throws ScenarioError.
  Simulation(const Scenario& scenario, const ConfigList& command_line_config);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // Runs to the end; throws SimulationFailure. `bare`: the benchmark baseline (sim/bare_roles.hpp).
  const RunRecord& run(bool bare = false);

  const Experiment& experiment() const { return experiment_; }
  const RunContext& context() const { return context_; }
  // SimGrid's trace of the run when the configuration turns tracing on (`--cfg tracing:yes`).
  const TraceFile& trace() const { return *trace_; }

 private:
  void load_platform();
  void prepare_run(bool bare);
  void plan_failures();  // the actors' shared state: roles, monitor, upload slots, zones

  const Scenario& scenario_;
  Experiment experiment_;
  ConfigList config_;
  std::unique_ptr<TraceFile> trace_;  // before the engine, which writes it
  RunContext context_;
  std::unique_ptr<simgrid::s4u::Engine> engine_;
  SimContext sim_;
  Placed placed_;
  std::unique_ptr<Topology> topology_;
  std::unique_ptr<FailurePlan> failures_;  // with <failures>
  Placed failure_view_;  // the placed run as the failure plan sees it: no server on the ring
};

}  // namespace dmlsim
