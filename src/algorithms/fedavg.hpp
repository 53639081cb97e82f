// FedAvg (McMahan et al. 2017). Each round the server draws max(1, floor(C·K)) of the K clients
// from the scenario's seed (stream ClientSample, keyed by the round); only they receive w, run E
// local epochs of SGD from it — an epoch is ceil(n_k / B) steps, n_k the client's rows, B the
// expected batch size — and upload their models; the server sets w <- Σ_k (n_k / n) w_k over the
// clients that took part (n = their rows together).
// Identity: C = 1 with equal partitions is MA with M = E·ceil(n_k / B) local steps.
#pragma once

#include "algorithms/algorithm.hpp"

#include <cstdint>

namespace dmlsim {

struct FedAvgParams {
  explicit FedAvgParams(const AlgorithmParams& params);
  double eta;
  double fraction;  // C
  int epochs;       // E
};

// Local SGD steps of E epochs over a partition of `rows` rows with batches of `batch_rows`.
int fedavg_local_steps(int epochs, double rows, double batch_rows);

// The clients of round `round`: max(1, floor(C·K)) drawn without replacement, in worker order.
std::vector<int> sample_clients(double fraction, int workers, std::uint64_t seed, int round);

class FedAvgServer final : public ServerRole {
 public:
  FedAvgServer(const FedAvgParams& params, std::uint64_t seed, Vector initial)
      : params_(params), seed_(seed), w_(std::move(initial)) {}
  const Vector& broadcast() override { return w_; }
  void aggregate(const std::vector<Upload>& uploads) override;
  const Vector& model() const override { return w_; }
  std::vector<int> participants(int round, int workers) override;

 private:
  FedAvgParams params_;
  std::uint64_t seed_;
  Vector w_;
};

class FedAvgWorker final : public WorkerRole {
 public:
  explicit FedAvgWorker(const FedAvgParams& params) : params_(params) {}
  void run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) override;

 private:
  FedAvgParams params_;
};

}  // namespace dmlsim
