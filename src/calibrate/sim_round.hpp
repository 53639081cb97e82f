// The calibration round simulated by SimGrid. simulate_rounds: a two-host platform whose one
// full-duplex link has the path's latency and bandwidth, one round per size on one connection.
// simulate_flow_rounds: N client/server pairs, each behind a private access link much faster than
// the path, all through one shared full-duplex bottleneck with the path's latency and bandwidth
// (so each flow is its own TCP connection), in same-size loops: every round the N clients send at
// the same instant; the round ends when the last answer is back, and the next starts then. Each
// call runs its simulation in a forked child, because SimGrid allows one engine per process.
#pragma once

#include "sim/network.hpp"

#include <string>
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

struct SimulatedRound {
  double start = 0;             // seconds after the first round's start
  double time = 0;              // the round: the last flow's finish
  std::vector<double> finish;   // per flow: seconds from the round's start until its answer was back
};

// The platform of simulate_flow_rounds: hosts client<i> and server<i>, routes client<i> -> server<i>.
std::string bottleneck_platform_xml(const SimulatedPath& path, int flows);

// `warmup` + `rounds` rounds of `bytes` each way on `flows` connections; the first `warmup` of the
// returned rounds are the warm-up. Throws like simulate_rounds.
std::vector<SimulatedRound> simulate_flow_rounds(const NetworkSetup& network, const SimulatedPath& path, double bytes,
                                                 int flows, int warmup, int rounds);

}  // namespace dmlsim::calibrate
