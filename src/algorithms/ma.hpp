// MA (model averaging / local SGD). Each round: broadcast w; every worker sets w_k <- w and runs M
// local steps w_k <- w_k - eta · g_k(w_k); then w <- (1/K) Σ_k w_k.
// The MA worker is also BMUF's worker: a BMUF block is one MA round.
#pragma once

#include "algorithms/algorithm.hpp"

namespace dmlsim {

struct RoundCost;

struct MaParams {
  explicit MaParams(const AlgorithmParams& params);
  double eta;
  int local_steps;  // M
};

// The local-steps attribute MA and BMUF share, and the FLOPs of M local SGD steps.
AttributeSpec local_steps_attribute();
double local_steps_flops(const AlgorithmParams& params, const RoundCost& cost);

class MaServer final : public StreamingServerRole {
 public:
  explicit MaServer(Vector initial) : w_(std::move(initial)) {}
  const Vector& broadcast() override { return w_; }
  void fold(const Upload& upload) override;
  void end_round() override;
  const Vector& model() const override { return w_; }

 private:
  Vector w_;
  Vector sum_;  // the round's running sum, reused across rounds
  int folded_ = 0;
};

class MaWorker final : public WorkerRole {
 public:
  explicit MaWorker(const MaParams& params) : params_(params) {}
  void run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) override;

 private:
  MaParams params_;
};

}  // namespace dmlsim
