// AD-PSGD, asynchronous decentralized parallel SGD (Lian et al. 2018). No rounds and no barrier:
// each node loops on its own speed: a mini-batch gradient at its current model, then a pairwise
// average with one neighbour drawn at random (uniformly, from the scenario's seed keyed by node
// and step; with <failures>, among the neighbours still there), then the step x_i <- x_i - eta·g. The neighbour takes part whatever it is doing (its
// model is averaged while it computes, so its own next step applies a gradient taken before the
// average, as in the paper). rounds = node steps over all nodes (one step = one update).
// Identity: K = 1 (no neighbour) is sequential SGD.
#include "algorithms/decentralized.hpp"
#include "algorithms/registry.hpp"
#include "util/rng.hpp"

namespace dmlsim {

namespace {

class AdpsgdNode final : public PairwiseNode {
 public:
  AdpsgdNode(std::vector<int> neighbours, Vector initial, double eta, std::uint64_t seed, int worker)
      : neighbours_(std::move(neighbours)), x_(std::move(initial)), eta_(eta), seed_(seed), worker_(worker) {}

  const Vector& model() const override { return x_; }

  int before_exchange(int step, LocalTrainer& trainer) override { return trainer.gradient(x_, step, 0, grad_); }

  int partner_among(int step, const std::function<bool(int)>& available) const override {
    std::vector<int> candidates;
    for (int j : neighbours_)
      if (!available || available(j)) candidates.push_back(j);
    if (candidates.empty()) return -1;
    Rng rng(derive_key(seed_, Stream::GossipPartner,
                       {static_cast<std::uint64_t>(worker_), static_cast<std::uint64_t>(step)}));
    return candidates[rng.below(candidates.size())];
  }

  std::shared_ptr<const Vector> offer() override {
    offered_ = std::make_shared<const Vector>(x_);
    return offered_;
  }

  Vector answer(const Vector& offered) override {
    Vector old = x_;
    x_ = 0.5 * (x_ + offered);
    return old;
  }

  int after_exchange(int, const std::vector<const Vector*>& models, LocalTrainer& trainer) override {
    if (!models.empty()) x_.noalias() += 0.5 * (*models.front() - *offered_);
    x_.noalias() -= eta_ * grad_;
    trainer.charge_flops(4.0 * static_cast<double>(x_.size()));
    return 0;
  }

 private:
  std::vector<int> neighbours_;
  Vector x_;
  double eta_;
  std::uint64_t seed_;
  int worker_;
  Vector grad_;
  std::shared_ptr<const Vector> offered_;
};

}  // namespace

const AlgorithmInfo& adpsgd_algorithm() {
  static const AlgorithmInfo info{
      "adpsgd",
      "asynchronous decentralized SGD: each step a gradient and a pairwise average with one random neighbour "
      "(rounds = steps of all workers)",
      {learning_rate_attribute()},
      [](const AlgorithmSetup&, const Vector& initial) { return std::make_unique<AverageModel>(initial); },
      {},
      // A gradient, the pairwise average and the step.
      [](const AlgorithmParams&, const RoundCost& cost) { return cost.gradient_flops + 2 * cost.update_flops; },
      {},
      {"gossip"},
      {},
      {},
      [](const AlgorithmSetup& setup, int worker, const Vector& initial) -> std::unique_ptr<GossipNode> {
        if (!setup.graph) throw std::logic_error("adpsgd needs the setup's gossip graph");
        return std::make_unique<AdpsgdNode>(setup.graph->neighbours[static_cast<std::size_t>(worker)], initial,
                                            setup.params.real("eta"), setup.seed, worker);
      }};
  return info;
}

}  // namespace dmlsim
