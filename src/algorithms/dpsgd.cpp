// D-PSGD, decentralized parallel SGD (Lian et al. 2017). Every step each node sends its model x_i
// to its graph neighbours and, while those travel, computes g_i(x_i) on its own batch; then
// x_i <- sum_j W_ij x_j - eta·g_i(x_i), W the Metropolis–Hastings weights of the graph
// (variant="lian", "adapt then combine"). variant="combine-then-adapt" averages first and takes the
// gradient at the averaged point, y_i = sum_j W_ij x_j, x_i <- y_i - eta·g_i(y_i): no overlap,
// but on the complete graph (W = 1/K everywhere) every node holds SSGD's model (batch means).
// Step t uses the batch of round t, as SSGD's round t does. K = 1 is sequential SGD.
#include "algorithms/decentralized.hpp"
#include "algorithms/registry.hpp"

#include <algorithm>

namespace dmlsim {

namespace {

class DpsgdNode final : public GossipNode {
 public:
  DpsgdNode(int self, MixingRow row, Vector initial, double eta, bool combine_first)
      : self_(self), row_(std::move(row)), x_(std::move(initial)), eta_(eta), combine_first_(combine_first) {}

  const Vector& model() const override { return x_; }

  int before_exchange(int step, LocalTrainer& trainer) override {
    return combine_first_ ? 0 : trainer.gradient(x_, step, 0, grad_);
  }

  int after_exchange(int step, const std::vector<const Vector*>& models, LocalTrainer& trainer) override {
    std::size_t mixed_entries = row_.size();
    if (std::find(models.begin(), models.end(), nullptr) == models.end()) {
      mix(row_, models, mixed_);
    } else {  // a neighbour is out of this step (failures): its weight stays with the node
      auto row = row_;
      auto present = models;
      drop_absent(row, present, self_);
      mix(row, present, mixed_);
      mixed_entries = row.size();
    }
    trainer.charge_flops(2.0 * static_cast<double>(mixed_entries * static_cast<std::size_t>(x_.size())));
    const int rows = combine_first_ ? trainer.gradient(mixed_, step, 0, grad_) : 0;
    x_.noalias() = mixed_ - eta_ * grad_;
    trainer.charge_flops(2.0 * static_cast<double>(x_.size()));
    return rows;
  }

 private:
  int self_;
  MixingRow row_;
  Vector x_;
  double eta_;
  bool combine_first_;
  Vector grad_;
  Vector mixed_;
};

}  // namespace

const AlgorithmInfo& dpsgd_algorithm() {
  static const AlgorithmInfo info{
      "dpsgd",
      "decentralized parallel SGD: every step, a gradient and a weighted average with the graph neighbours' models",
      {learning_rate_attribute(),
       choice_attribute("variant", "lian", {"lian", "combine-then-adapt"},
                        "lian: gradient at the own model while the neighbours' models travel; combine-then-adapt: "
                        "average first, gradient at the average")},
      [](const AlgorithmSetup&, const Vector& initial) { return std::make_unique<AverageModel>(initial); },
      {},
      // A gradient, the weighted sum over the node's mixing row (degree + 1 vectors; 3 on a ring)
      // and the step.
      [](const AlgorithmParams&, const RoundCost& cost) { return cost.gradient_flops + 4 * cost.update_flops; },
      {},
      {"gossip"},
      {},
      {},
      [](const AlgorithmSetup& setup, int worker, const Vector& initial) -> std::unique_ptr<GossipNode> {
        return std::make_unique<DpsgdNode>(worker, setup_mixing_row(setup, worker), initial,
                                           setup.params.real("eta"), setup.params.choice("variant") == "combine-then-adapt");
      }};
  return info;
}

}  // namespace dmlsim
