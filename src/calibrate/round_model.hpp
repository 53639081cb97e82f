// The parameter-server round that calibration measures and simulates: S bytes out, a compute gap,
// S bytes back. Under SimGrid's CM02 model with a profile's factor table one message of S bytes
// over a path of latency L and bandwidth B takes
//   L * lat_factor(S, L) + S / (bw_factor(S, L) * min(B, gamma / (2 L)))
// where gamma (network/TCP-gamma, 0 = no cap) is a TCP window: the rate cap gamma / RTT is what
// makes large messages on long links slower than size/bandwidth, as TCP's congestion window does
// after an idle period. A round takes gap + 2 * (one message).
// For a given gamma, fitting the piecewise factors is linear least squares per size bucket;
// gamma itself is searched when the measurements cover several latencies. Pure code, no SimGrid.
#pragma once

#include "scenario/factor_table.hpp"

#include <string>
#include <vector>

namespace dmlsim::calibrate {

struct Observation {
  double latency = 0;    // one-way, seconds
  double bandwidth = 0;  // bytes per second
  double bytes = 0;      // message size, each way
  double time = 0;       // measured round time, seconds
};

// One row per measured latency; `window` is the TCP-gamma to configure with them.
using Factors = FactorTable;

// A table of one row (factors by size only, as SimGrid's SMPI model has them).
Factors size_only_factors(const std::vector<long>& threshold, const std::vector<double>& latency,
                          const std::vector<double>& bandwidth, double gamma);

double round_time(const Factors& f, double latency, double bandwidth, double bytes, double gap);

// Largest |simulated - measured| / measured over the observations.
double worst_relative_error(const Factors& f, const std::vector<Observation>& observations, double gap);

// One bucket per distinct message size, split at the geometric mean of neighbouring sizes.
// One latency (a single probe): one row; lat-factor and bw-factor are not separable, so the
// bandwidth factor stays 1 (the path bandwidth is the measured one), the latency factor is the
// least-squares (here: exact) fit, and there is no window cap.
// Several latencies: plain CM02 with the TCP window (gamma) that fits all rounds best (least
// squares of log ratios; never so small that a round would be shorter than its transfers), then
// one row per latency that reproduces each of its rounds: in each cell the factor of the round's
// larger term (latency, or transfer) absorbs the difference, the smaller relative correction.
// Slow start and window growth cost a number of round trips that depends on the round-trip time,
// not on the size alone, hence a row per latency. No bandwidth factor exceeds 1: no flow outruns
// its link.
Factors fit_factors(const std::vector<Observation>& observations, double gap);

// Parses "248,64KiB,1MB,8MiB" (bytes; k/M/G decimal, Ki/Mi/Gi binary, optional trailing B).
// Throws std::invalid_argument.
std::vector<double> parse_sizes(const std::string& text);

}  // namespace dmlsim::calibrate
