// Latency and bandwidth correction factors that depend on the message size and on the route's
// latency. SimGrid's SMPI model takes factors that depend on size only; real TCP's slow start and
// window growth cost a number of round trips that also depends on the round-trip time, so a
// profile fitted at several link latencies keeps one row of size-piecewise factors per latency
// and interpolates between rows. Pure code, no SimGrid: sim/network.cpp installs a table as
// SimGrid's per-communication factor callbacks.
#pragma once

#include <string>
#include <vector>

namespace dmlsim {

// Piecewise-constant in the message size, SimGrid's "size:factor;size:factor" form: entry i
// applies to messages larger than threshold[i] and up to threshold[i+1]; entry 0 also to smaller
// ones. threshold[0] is 0 and thresholds ascend strictly.
struct PiecewiseFactor {
  std::vector<long> threshold;
  std::vector<double> value;

  std::size_t bucket(double bytes) const;
  double at(double bytes) const { return value[bucket(bytes)]; }
};

// "0:1.5;16000:2". parse_piecewise throws std::invalid_argument saying what is wrong.
PiecewiseFactor parse_piecewise(const std::string& text);
std::string to_string(const PiecewiseFactor& factor);

struct FactorRow {
  double latency = 0;  // route latency (one-way, seconds) this row was fitted at
  PiecewiseFactor latency_factor;
  PiecewiseFactor bandwidth_factor;
};

// Rows in ascending latency. Below the first row or above the last one, that row's factors apply.
// Between two rows, what is interpolated linearly in the route latency L is the message's time:
// its effective latency L * lat-factor, and its time per byte 1 / (bw-factor * rate), where the
// rate is the one SimGrid gives a lone flow, min(B, window / 2L) with the TCP-gamma window cap in
// effect. So at the rows' own latencies a message takes what was measured there, and in between a
// time between theirs, even where the window cap starts to bind.
struct FactorTable {
  std::vector<FactorRow> rows;
  double window = 0;  // network/TCP-gamma in effect, bytes; 0: no cap

  bool empty() const { return rows.empty(); }
  double latency_factor(double bytes, double route_latency) const;
  // `route_bandwidth`: the route's bottleneck link bandwidth, bytes per second.
  double bandwidth_factor(double bytes, double route_latency, double route_bandwidth) const;
};

// The rate SimGrid's CM02 gives a lone flow before its bandwidth factor: the link's, or the TCP
// window cap's (window / RTT; window 0: no cap).
double lone_flow_rate(double latency, double bandwidth, double window);

}  // namespace dmlsim
