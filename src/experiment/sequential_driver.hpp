// Runs an experiment's rounds in a plain loop, without SimGrid: the same server and worker roles,
// the same batches, no simulated time. The golden identity tests compare algorithms through it,
// and the benchmarks use it as the "bare training loop" baseline.
#pragma once

#include "experiment/experiment.hpp"
#include "experiment/run_monitor.hpp"

#include <functional>

namespace dmlsim {

// Called after each round with (round, global parameters). Return false to stop early.
using RoundObserver = std::function<bool(int, const Vector&)>;

// Returns the final global parameters.
Vector run_sequential(const Experiment& experiment, const RoundObserver& observe = {});

// Under the run monitor: evaluates and stops as a simulation of the same scenario does (its clock
// stays at 0 and nothing is sent, so max-time never stops it and the byte counts are 0).
// record.final_model is the result; the monitor's failure (divergence) is returned in `failure`.
RunRecord run_sequential(const Experiment& experiment, const MonitorRules& rules, std::string& failure);

}  // namespace dmlsim
