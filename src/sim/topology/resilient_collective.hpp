// The server-less topologies when the scenario has <failures> (resilient_collective.cpp): a round's
// exchange is given up when a member is down and started again on the members that are up. What
// each topology contributes is its exchange over any set of members (a SurvivorExchange, defined
// in the topology's own file); the round loop, the failure detection and the aggregation are shared.
#pragma once

#include "sim/topology/collective.hpp"

namespace dmlsim {

class SurvivorExchange {
 public:
  virtual ~SurvivorExchange() = default;
  // Before the actors start: the platform zone of each worker.
  virtual void prepare(const std::vector<int>& /*worker_zones*/) {}
  // Worker `worker`'s messages of one attempt at a round's exchange among `members` (the workers
  // that are up, in worker order; `worker` among them), every one through `channel`, with tags 0 ..
  // tags(K) - 1. False when the channel gave the attempt up.
  virtual bool exchange(Channel& channel, const std::vector<int>& members, int worker) const = 0;
  // Tags an attempt may use, for K workers.
  virtual int tags(int workers) const = 0;
};

// The topology that runs `exchange` with failures: every pair of workers needs a route (any two may
// meet in a rebuilt shape).
std::unique_ptr<Topology> make_resilient_collective(std::unique_ptr<SurvivorExchange> exchange);

}  // namespace dmlsim
