// SSGD (synchronous SGD). Each round: broadcast w; every worker computes g_k(w) on its batch;
// w <- w - eta · (1/K) Σ_k g_k(w) (mean of the K batch means, the default), or, in the seed's
// form, w <- w - eta · (Σ over the union of the K batches of per-sample gradients) / (union size).
// An empty union (possible with Bernoulli batches) leaves w unchanged.
#pragma once

#include "algorithms/algorithm.hpp"

namespace dmlsim {

struct SsgdParams {
  explicit SsgdParams(const AlgorithmParams& params);
  double eta;
  // Average the K batch means (default, the common form) or the per-sample gradients over the
  // union of the K batches (the seed's form).
  bool average_samples;
};

class SsgdServer final : public StreamingServerRole {
 public:
  SsgdServer(const SsgdParams& params, Vector initial) : params_(params), w_(std::move(initial)) {}
  const Vector& broadcast() override { return w_; }
  void fold(const Upload& upload) override;
  void end_round() override;
  const Vector& model() const override { return w_; }

 private:
  SsgdParams params_;
  Vector w_;
  Vector sum_;  // the round's running sum, reused across rounds
  int folded_ = 0;
  double samples_ = 0;
};

class SsgdWorker final : public WorkerRole {
 public:
  explicit SsgdWorker(const SsgdParams& params) : params_(params) {}
  void run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) override;
  bool uploads_a_model() const override { return false; }  // a gradient (or gradient sum)

 private:
  SsgdParams params_;
};

}  // namespace dmlsim
