// What the decentralized algorithms (D-PSGD, AD-PSGD) share: no server, every worker keeps its
// own model x_i and exchanges it with its neighbours in the gossip graph (gossip_graph.hpp). A
// node's maths is split at the exchange so that a simulator can overlap the two halves with the
// messages in flight, as Lian et al. do: before_exchange() needs only the node's own model (D-PSGD
// computes its gradient there), after_exchange() gets the neighbours' models. The run is judged
// on the average model (1/K) Σ x_i; how far the nodes are from agreeing is the consensus distance
// (1/K) Σ ‖x_i − x̄‖. Pure code, no SimGrid.
#pragma once

#include "algorithms/algorithm.hpp"
#include "algorithms/gossip_graph.hpp"

#include <functional>
#include <vector>

namespace dmlsim {

class GossipNode {
 public:
  virtual ~GossipNode() = default;
  virtual const Vector& model() const = 0;
  // Step `step`'s work on the node's own model, before (or while) the neighbours' models arrive.
  // Both halves return the training rows they used.
  virtual int before_exchange(int step, LocalTrainer& trainer) = 0;
  // `models`: the models of step `step`'s exchange, one per entry of the node's mixing row (its
  // own included), in that row's order (mixing_order()); null for a neighbour out of the exchange
  // (its host down or its route cut, with <failures>): see drop_absent().
  virtual int after_exchange(int step, const std::vector<const Vector*>& models, LocalTrainer& trainer) = 0;
  // Pairwise gossip (AD-PSGD): the node talks to one neighbour per step, through the methods of
  // PairwiseNode, and other nodes may average with it at any time.
  virtual bool pairwise() const { return false; }
};

// A node of pairwise gossip. Step t: before_exchange() (the gradient at the own model), then
// offer() a snapshot s_i of the model to partner(t); that neighbour answer()s: it returns its
// model x_j as it was and sets x_j <- (x_j + s_i)/2; after_exchange() gets that old x_j and sets
// x_i <- x_i + (x_j - s_i)/2, so the pair ends at the same average when nothing else touched
// them, and the sum of all models only ever changes by gradient steps.
class PairwiseNode : public GossipNode {
 public:
  bool pairwise() const final { return true; }
  // A neighbour drawn for step `step`; -1 with none.
  int partner(int step) const { return partner_among(step, nullptr); }
  // The same draw among the neighbours `available` accepts (all of them when it is empty): with
  // <failures>, a node never picks a neighbour that is down or cut off.
  virtual int partner_among(int step, const std::function<bool(int)>& available) const = 0;
  virtual std::shared_ptr<const Vector> offer() = 0;
  virtual Vector answer(const Vector& offered) = 0;
};

// The average model, summed in worker order, and the consensus distance.
struct Consensus {
  Vector average;
  double distance = 0;
};
Consensus consensus(const std::vector<const Vector*>& models);

// sum_j W_ij x_j over row i, in the row's order; `models` as for after_exchange().
void mix(const MixingRow& row, const std::vector<const Vector*>& models, Vector& out);

// Row `row` of node `self` for an exchange whose null entries of `models` are absent (neighbours
// out of the run): each absent neighbour's weight moves to the node's own entry, and both lose
// their entries. The row still sums to 1, and since both ends of a lost edge do the same, W stays
// symmetric and doubly stochastic over the live nodes (the rule of time-varying gossip, e.g.
// Koloskova et al. 2020, with the lost edges as missing graph edges).
void drop_absent(MixingRow& row, std::vector<const Vector*>& models, int self);

// The server role of a decentralized algorithm: nobody serves, but the run monitor evaluates the
// average of the K models it is handed (upload k = x_k), and the consensus distance comes with it.
class AverageModel final : public ServerRole {
 public:
  explicit AverageModel(Vector initial) : w_(std::move(initial)) {}
  const Vector& broadcast() override { return w_; }
  void aggregate(const std::vector<Upload>& uploads) override;
  const Vector& model() const override { return w_; }
  double consensus_distance() const { return distance_; }

 private:
  Vector w_;
  double distance_ = 0;
};

// Row `worker` of the setup's graph's Metropolis–Hastings weights; throws std::logic_error if the
// setup has no graph (a scenario of a synchronous algorithm).
MixingRow setup_mixing_row(const AlgorithmSetup& setup, int worker);

}  // namespace dmlsim
