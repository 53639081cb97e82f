// What the gossip topology (gossip.cpp) and its variant with <failures> (resilient_gossip.cpp)
// share: the run monitor's view of the nodes' average model, and the whole-model messages of
// pairwise gossip.
#pragma once

#include "algorithms/decentralized.hpp"
#include "sim/sim_context.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <simgrid/s4u/Semaphore.hpp>
#include <string>
#include <vector>

namespace dmlsim::gossip {

constexpr int kModelTag = 0;
constexpr int kAnswerTag = 1;

// The average of the nodes' models and their consensus distance, formed on first use: an
// asynchronous run reports after every node step, but needs the average only for a row.
class LazyConsensus {
 public:
  explicit LazyConsensus(std::function<std::vector<const Vector*>()> models) : models_(std::move(models)) {}
  const Consensus& get() {
    if (!formed_) formed_ = consensus(models_());
    return *formed_;
  }

 private:
  std::function<std::vector<const Vector*>()> models_;
  std::optional<Consensus> formed_;
};

// The simulator's probe (every question it answers is forwarded to it, so rows carry the same time,
// traffic, energy and per-worker time breakdown as other topologies' rows) plus the consensus
// distance of the row being recorded.
class GossipProbe final : public RunProbe {
 public:
  GossipProbe(const SimContext& context, std::function<double()> distance) : sim_(context), distance_(std::move(distance)) {}
  double now() override { return sim_.now(); }
  void charge_evaluation(double flops) override { sim_.charge_evaluation(flops); }
  Traffic traffic() override { return sim_.traffic(); }
  double energy() override { return sim_.energy(); }
  WorkerTimes worker_times() override { return sim_.worker_times(); }
  std::optional<double> consensus_distance() override { return distance_(); }

 private:
  SimProbe sim_;
  std::function<double()> distance_;
};

// Round `round` of the run monitor on the average model (`finite`: whether the run has not
// diverged). False when the monitor stopped the run: it is finished (ctx.finished) and recorded.
bool report(SimContext& ctx, int round, LazyConsensus& c, bool finite);

// A pairwise node's mailbox for the averaging requests of its neighbours.
std::string answer_mailbox(int worker);

// One detached message of a whole model from `from` to mailbox `to_box` on worker `to`'s host.
void post_model(SimContext& ctx, int from, int to, const std::string& to_box, int round, int tag,
                std::shared_ptr<const Vector> values);

// Executes the FLOPs `trainer` has counted since it was last asked, on the worker's host, and books
// them with the `rows` of training data they used.
void charge(Peer& peer, LocalTrainer& trainer, int rows);

}  // namespace dmlsim::gossip
