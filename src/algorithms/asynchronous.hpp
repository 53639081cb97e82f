// The asynchronous parameter server's bookkeeping, SimGrid-free so the simulator and the
// sequential driver share it: a worker pushes an update computed on the model of some version; the
// server applies it on arrival (through the algorithm's ServerRole, one upload at a time), counts
// its staleness — the server updates between the pull it was computed on and its application — and
// says which workers may now pull the new model. Under a staleness bound s (SSP, Ho et al. 2013) a
// worker that has pushed c times may pull only once every worker has pushed at least c − s times;
// ASGD (Downpour) has no bound, so a worker pulls as soon as its own push is applied.
#pragma once

#include "algorithms/algorithm.hpp"

#include <cstdint>
#include <vector>

namespace dmlsim {

class AsyncProtocol {
 public:
  // `staleness_bound` < 0: unbounded (ASGD).
  AsyncProtocol(ServerRole& role, int workers, int staleness_bound);

  // Applies worker `upload.worker`'s push, computed on the model of version `pulled`. Returns the
  // workers that may pull the new model now, in worker order: the pusher unless the bound holds
  // it back, and those this push releases.
  std::vector<int> push(const Upload& upload, std::uint64_t pulled);

  // Failures (sim/topology/resilient_parameter_server.cpp): a worker the server lost no longer holds
  // the others back (returns the workers this releases); one that comes back starts level with the
  // slowest worker present.
  std::vector<int> leave(int worker);
  void rejoin(int worker);

  std::uint64_t version() const { return version_; }  // server updates applied so far
  // Entry i: updates applied with staleness i.
  const std::vector<std::uint64_t>& staleness_histogram() const { return histogram_; }

 private:
  bool within_bound(int worker) const;
  std::vector<int> release();

  ServerRole& role_;
  int bound_;
  std::uint64_t version_ = 0;
  std::vector<int> clock_;       // pushes applied, per worker
  std::vector<bool> blocked_;    // pushed, waiting for the slowest worker to catch up
  std::vector<bool> present_;    // counted by the bound (all but the workers the server lost)
  std::vector<Upload> applied_;  // the one upload handed to the role
  std::vector<std::uint64_t> histogram_;
};

// The ASGD/SSP worker: one mini-batch gradient at the pulled model per push; the batch is keyed
// by the worker's push number, as SSGD keys it by the round.
class GradientWorker final : public WorkerRole {
 public:
  void run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) override;
  bool uploads_a_model() const override { return false; }  // a gradient
};

}  // namespace dmlsim
