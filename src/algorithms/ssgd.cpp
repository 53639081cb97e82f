#include "algorithms/ssgd.hpp"

namespace dmlsim {

void SsgdWorker::run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) {
  const int n = trainer.gradient(received, round, 0, upload.values);
  upload.samples = n;
  // For the per-sample average the worker ships the gradient sum; the server divides by the union size.
  if (params_.ssgd_average_samples) upload.values *= static_cast<double>(n);
}

void SsgdServer::aggregate(const std::vector<Upload>& uploads) {
  if (!params_.ssgd_average_samples) {
    // w - eta·mean_k(g_k), evaluated as mean_k(w - eta·g_k): the same number, but rounded exactly
    // as MA with one local step rounds it, so that identity holds bit for bit.
    Vector sum = Vector::Zero(w_.size());
    for (const auto& u : uploads) sum += w_ - params_.eta * u.values;
    w_ = sum / static_cast<double>(uploads.size());
    return;
  }
  Vector sum = Vector::Zero(w_.size());
  double samples = 0;
  for (const auto& u : uploads) {
    sum += u.values;
    samples += u.samples;
  }
  if (samples > 0) w_.noalias() -= params_.eta * (sum / samples);
}

}  // namespace dmlsim
