// The calibration round simulated by SimGrid on a two-host platform whose one full-duplex link has
// the path's latency and bandwidth. Each call runs its simulation in a forked child, because
// SimGrid allows one engine per process.
#pragma once

#include "sim/network.hpp"

#include <vector>

namespace dmlsim::calibrate {

struct SimulatedPath {
  double latency = 0;    // one-way, seconds
  double bandwidth = 0;  // bytes per second
  double gap = 0.010;    // server compute between receiving and replying, seconds
};

// Round time per size: S bytes client -> server, gap, S bytes back. Throws std::runtime_error if
// SimGrid rejects the configuration or the child fails.
std::vector<double> simulate_rounds(const NetworkSetup& network, const SimulatedPath& path, const std::vector<double>& sizes);

}  // namespace dmlsim::calibrate
