// Stragglers: `<workers slowdown="…">` multiplies the simulated time of a worker's computations
// (the FLOPs it executes) by a factor: a fixed factor per worker ("1,1,3,1"), or one drawn per
// computation from a log-normal distribution exp(sigma·N(0,1)) ("lognormal:0.5", median 1),
// from the scenario's seed, each worker its own stream, so reruns are byte-identical. Pure code:
// the topologies' actors ask it for the factor of their next execute().
#pragma once

#include "util/rng.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

namespace dmlsim {

struct SlowdownSpec {
  std::vector<double> factors;  // one per worker; empty: 1
  double lognormal_sigma = 0;   // > 0: a per-computation draw
  bool active() const { return !factors.empty() || lognormal_sigma > 0; }
};

class Slowdown {
 public:
  Slowdown() = default;
  Slowdown(SlowdownSpec spec, int workers, std::uint64_t seed) : spec_(std::move(spec)) {
    for (int k = 0; k < workers; ++k)
      streams_.emplace_back(derive_key(seed, Stream::Slowdown, {static_cast<std::uint64_t>(k)}));
  }
  // The factor of worker k's next computation.
  double next(int worker) {
    double factor = spec_.factors.empty() ? 1.0 : spec_.factors[static_cast<std::size_t>(worker)];
    if (spec_.lognormal_sigma > 0)
      factor *= std::exp(spec_.lognormal_sigma * standard_normal(streams_[static_cast<std::size_t>(worker)]));
    return factor;
  }

 private:
  SlowdownSpec spec_;
  std::vector<Rng> streams_;
};

}  // namespace dmlsim
