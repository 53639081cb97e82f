// DiLoCo (Douillard et al. 2023) and the outer-optimiser family. A round: every worker starts from
// the broadcast w_g and runs H inner steps with its own inner optimiser (SGD, momentum SGD or
// AdamW; its state kept across rounds or reset each round); the server forms the pseudo-gradient
//   Delta = w_g - (1/K) Σ_k w_k   (uploads summed in worker order)
// and takes one step of the outer optimiser on it (SGD, heavy-ball momentum, Nesterov, Adam).
// Outer SGD with lr 1 is MA; outer momentum with lr zeta and momentum mu is classical BMUF.
// The inner worker is shared with SlowMo (slowmo.cpp), which differs only in its outer rule.
#pragma once

#include "algorithms/algorithm.hpp"
#include "algorithms/optimizers.hpp"

namespace dmlsim {

struct RoundCost;

struct InnerParams {
  explicit InnerParams(const AlgorithmParams& params);
  OptimizerSpec optimizer;
  int local_steps;  // H
  bool reset_each_round;
};

// The attributes of the inner loop (eta, local-steps, inner optimiser and its settings), shared by
// every algorithm of the family, and the FLOPs of its H inner steps.
std::vector<AttributeSpec> inner_optimizer_attributes();
// The outer optimiser's attributes (outer, outer-lr, outer-momentum, outer-beta1, outer-beta2) and
// the optimiser they describe.
std::vector<AttributeSpec> outer_optimizer_attributes();
OptimizerSpec outer_spec(const AlgorithmParams& params);
double inner_steps_flops(const AlgorithmParams& params, const RoundCost& cost);

// Inner steps first .. last - 1 of round `round` on w (batches keyed by round and step), charging
// their FLOPs to the trainer. Returns the rows of their batches.
double inner_steps(Optimizer& optimizer, Vector& w, int round, int first, int last, LocalTrainer& trainer,
                   Vector& grad);

class InnerOptimizerWorker final : public WorkerRole {
 public:
  explicit InnerOptimizerWorker(const InnerParams& params) : params_(params), optimizer_(params.optimizer) {}
  void run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) override;

 private:
  InnerParams params_;
  Optimizer optimizer_;
  Vector grad_;
};

// The server of DiLoCo: one outer-optimiser step on Delta per round.
class DilocoServer final : public ServerRole {
 public:
  DilocoServer(const OptimizerSpec& outer, Vector initial) : w_(std::move(initial)), outer_(outer) {}
  const Vector& broadcast() override { return w_; }
  void aggregate(const std::vector<Upload>& uploads) override;
  const Vector& model() const override { return w_; }

 private:
  Vector w_;
  Optimizer outer_;
};

// Delta = w_g - mean of the uploads (the outer pseudo-gradient).
Vector pseudo_gradient(const Vector& start, const std::vector<Upload>& uploads);

}  // namespace dmlsim
