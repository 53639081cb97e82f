#include "algorithms/ssgd.hpp"

#include "algorithms/registry.hpp"

namespace dmlsim {

SsgdParams::SsgdParams(const AlgorithmParams& params)
    : eta(params.real("eta")), average_samples(params.choice("average") == "samples") {}

void SsgdWorker::run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) {
  const int n = trainer.gradient(received, round, 0, upload.values);
  upload.samples = n;
  // For the per-sample average the worker ships the gradient sum; the server divides by the union size.
  if (params_.average_samples) upload.values *= static_cast<double>(n);
}

void SsgdServer::fold(const Upload& upload) {
  if (folded_++ == 0) {
    sum_.setZero(w_.size());
    samples_ = 0;
  }
  if (!params_.average_samples) {
    // w - eta·mean_k(g_k), evaluated as mean_k(w - eta·g_k): the same number, but rounded exactly
    // as MA with one local step rounds it, so that identity holds bit for bit.
    sum_ += w_ - params_.eta * upload.values;
    return;
  }
  sum_ += upload.values;
  samples_ += upload.samples;
}

void SsgdServer::end_round() {
  if (!params_.average_samples)
    w_ = sum_ / static_cast<double>(folded_);
  else if (samples_ > 0)
    w_.noalias() -= params_.eta * (sum_ / samples_);
  folded_ = 0;
}

const AlgorithmInfo& ssgd_algorithm() {
  static const AlgorithmInfo info{
      "ssgd",
      "synchronous SGD: one gradient per worker per round, averaged by the server",
      {learning_rate_attribute(),
       choice_attribute("average", "batch-means", {"batch-means", "samples"},
                        "mean of the K batch means, or per-sample mean over the union of the batches (the seed)")},
      [](const AlgorithmSetup& setup, const Vector& initial) {
        return std::make_unique<SsgdServer>(SsgdParams(setup.params), initial);
      },
      [](const AlgorithmSetup& setup, int, const Vector&) { return std::make_unique<SsgdWorker>(SsgdParams(setup.params)); },
      [](const AlgorithmParams&, const RoundCost& cost) { return cost.gradient_flops; },
      {}};
  return info;
}

}  // namespace dmlsim
