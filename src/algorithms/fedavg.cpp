#include "algorithms/fedavg.hpp"

#include "algorithms/registry.hpp"
#include "util/rng.hpp"

#include <algorithm>
#include <cmath>

namespace dmlsim {

FedAvgParams::FedAvgParams(const AlgorithmParams& params)
    : eta(params.real("eta")), fraction(params.real("fraction")), epochs(params.integer("epochs")) {}

int fedavg_local_steps(int epochs, double rows, double batch_rows) {
  // The tolerance keeps an exact ratio (199 rows / 19.9) from rounding up to one step more.
  const double per_epoch = batch_rows > 0 ? std::ceil(rows / batch_rows - 1e-9) : 1.0;
  return epochs * std::max(1, static_cast<int>(per_epoch));
}

std::vector<int> sample_clients(double fraction, int workers, std::uint64_t seed, int round) {
  const int count = std::max(1, static_cast<int>(std::floor(fraction * workers + 1e-9)));
  auto order = random_permutation(workers, derive_key(seed, Stream::ClientSample, {static_cast<std::uint64_t>(round)}));
  order.resize(static_cast<std::size_t>(std::min(count, workers)));
  std::sort(order.begin(), order.end());
  return order;
}

std::vector<int> FedAvgServer::participants(int round, int workers) {
  return sample_clients(params_.fraction, workers, seed_, round);
}

void FedAvgServer::aggregate(const std::vector<Upload>& uploads) {
  double rows = 0;
  for (const auto& u : uploads) rows += u.weight;
  Vector sum = Vector::Zero(w_.size());
  for (const auto& u : uploads) sum += (u.weight / rows) * u.values;
  w_ = sum;
}

void FedAvgWorker::run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) {
  upload.values = received;
  const int steps = fedavg_local_steps(params_.epochs, trainer.partition_rows(), trainer.expected_batch_rows());
  double samples = 0;
  for (int step = 0; step < steps; ++step) samples += trainer.sgd_step(upload.values, params_.eta, round, step);
  upload.samples = samples;
  upload.weight = trainer.partition_rows();
}

const AlgorithmInfo& fedavg_algorithm() {
  static const AlgorithmInfo info{
      "fedavg",
      "federated averaging: a seeded fraction C of the clients trains E local epochs, averaged by rows",
      {learning_rate_attribute(),
       real_attribute("fraction", 1.0, {0.0, 1.0, false, true},
                      "C: fraction of the clients drawn each round (at least one)"),
       integer_attribute("epochs", 1, {1, 1 << 20}, "E: local epochs per round (an epoch is ceil(rows / batch) steps)")},
      [](const AlgorithmSetup& setup, const Vector& initial) {
        return std::make_unique<FedAvgServer>(FedAvgParams(setup.params), setup.seed, initial);
      },
      [](const AlgorithmSetup& setup, int, const Vector&) {
        return std::make_unique<FedAvgWorker>(FedAvgParams(setup.params));
      },
      [](const AlgorithmParams& params, const RoundCost& cost) {
        return fedavg_local_steps(params.integer("epochs"), cost.partition_rows, cost.batch_rows) *
               (cost.gradient_flops + cost.update_flops);
      },
      {},
      {"parameter-server"}};
  return info;
}

}  // namespace dmlsim
