// SSP, stale synchronous parallel (Ho et al. 2013): ASGD's server and workers, but a worker that
// has pushed c times waits for its reply until the slowest worker has pushed c − s times.
// s = 0 is bulk-synchronous: with push-scale="mean" it is SSGD with batch means (to rounding).
#include "algorithms/asgd.hpp"
#include "algorithms/registry.hpp"

namespace dmlsim {

const AlgorithmInfo& ssp_algorithm() {
  static const AlgorithmInfo info{
      "ssp",
      "stale synchronous parallel: ASGD where no worker leads the slowest by more than s pushes",
      {learning_rate_attribute(), push_scale_attribute(),
       integer_attribute("s", 2, {0, 1 << 20}, "staleness bound: pushes a worker may lead the slowest worker by")},
      make_asgd_server,
      make_gradient_worker,
      one_gradient_flops,
      {},
      {"parameter-server"},
      {},
      [](const AlgorithmParams& params) { return params.integer("s"); }};
  return info;
}

}  // namespace dmlsim
