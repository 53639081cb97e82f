// The parameter-server round that calibration measures and simulates: S bytes out, a compute gap,
// S bytes back. Under SimGrid's SMPI network model one message of S bytes over a path of latency
// L and bandwidth B takes
//   L * lat_factor(S) + S / (bw_factor(S) * min(B, gamma / (2 L)))
// where gamma (network/TCP-gamma, 0 = no cap) is a TCP window: the rate cap gamma / RTT is what
// makes large messages on long links slower than size/bandwidth, as TCP's congestion window does
// after an idle period. A round takes gap + 2 * (one message).
// For a given gamma, fitting the piecewise factors is linear least squares per size bucket;
// gamma itself is searched when the measurements cover several latencies. Pure code, no SimGrid.
#pragma once

#include <string>
#include <vector>

namespace dmlsim::calibrate {

struct Observation {
  double latency = 0;    // one-way, seconds
  double bandwidth = 0;  // bytes per second
  double bytes = 0;      // message size, each way
  double time = 0;       // measured round time, seconds
};

// Piecewise-constant factors in SimGrid's "size:factor;size:factor" form: entry i applies to
// messages larger than threshold[i] (and up to the next threshold). threshold[0] is 0.
struct Factors {
  std::vector<long> threshold;
  std::vector<double> latency;    // lat-factor per bucket
  std::vector<double> bandwidth;  // bw-factor per bucket
  double gamma = 0;               // network/TCP-gamma in bytes, 0: no window cap
};

double round_time(const Factors& f, double latency, double bandwidth, double bytes, double gap);

// Largest |simulated - measured| / measured over the observations.
double worst_relative_error(const Factors& f, const std::vector<Observation>& observations, double gap);

// One bucket per distinct message size, split at the geometric mean of neighbouring sizes. When
// all observations of a bucket share one path (a single probe), lat-factor and bw-factor are not
// separable: the bandwidth factor stays 1 (the path bandwidth is the measured one), the latency
// factor is the least-squares (here: exact) fit, and gamma stays 0. With several latencies, each
// bucket's (lat-factor, 1/bw-factor) minimises the largest relative error of its round times, and
// gamma is the value (0 or 16 KiB-64 MiB) that minimises the largest error over all buckets.
Factors fit_factors(const std::vector<Observation>& observations, double gap);

// "0:1.93;1000:2.1" for smpi/lat-factor or smpi/bw-factor.
std::string factor_string(const std::vector<long>& threshold, const std::vector<double>& values);

// Parses "248,64KiB,1MB,8MiB" (bytes; k/M/G decimal, Ki/Mi/Gi binary, optional trailing B).
// Throws std::invalid_argument.
std::vector<double> parse_sizes(const std::string& text);

}  // namespace dmlsim::calibrate
