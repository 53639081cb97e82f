// Synchronous EASGD (elastic averaging SGD, Zhang, Choromanska & LeCun 2015).
// alpha = eta · rho, beta = K · alpha. One round is tau local steps: tau - 1 plain SGD steps, then
// the communication step, at which the worker, with the centre w it received,
//   w_k <- w_k - eta · g_k(w_k) - alpha · (w_k - w)
// and the centre becomes w <- (1 - beta) · w + beta · (1/K) Σ_k u_k, where u_k is the worker's
// model after that step (the seed's order, default) or before it (the paper's simultaneous
// moves, which is w + alpha Σ_k (w_k - w)). Workers keep their own w_k across rounds.
// Identity: rho = 0 gives K independent SGD runs and a centre that never moves.
#pragma once

#include "algorithms/algorithm.hpp"

namespace dmlsim {

struct EasgdParams {
  explicit EasgdParams(const AlgorithmParams& params);
  double eta;
  double rho;
  int tau;
  bool paper_order;        // the centre uses the workers' models from before their step
  bool independent_init;  // workers start from their own random draw (the seed)
};

class EasgdServer final : public ServerRole {
 public:
  EasgdServer(const EasgdParams& params, int workers, Vector initial)
      : beta_(workers * params.eta * params.rho), w_(std::move(initial)) {}
  const Vector& broadcast() override { return w_; }
  void aggregate(const std::vector<Upload>& uploads) override;
  const Vector& model() const override { return w_; }

 private:
  double beta_;
  Vector w_;
};

class EasgdWorker final : public WorkerRole {
 public:
  EasgdWorker(const EasgdParams& params, Vector initial) : params_(params), local_(std::move(initial)) {}
  void run_round(int round, const Vector& centre, LocalTrainer& trainer, Upload& upload) override;
  const Vector& local_model() const { return local_; }

 private:
  EasgdParams params_;
  Vector local_;
  Vector grad_;
};

}  // namespace dmlsim
