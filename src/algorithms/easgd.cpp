#include "algorithms/easgd.hpp"

namespace dmlsim {

void EasgdWorker::run_round(int round, const Vector& centre, LocalTrainer& trainer, Upload& upload) {
  double samples = 0;
  for (int step = 0; step + 1 < params_.tau; ++step) samples += trainer.sgd_step(local_, params_.eta, round, step);
  if (params_.easgd_paper_order) upload.values = local_;
  samples += trainer.gradient(local_, round, params_.tau - 1, grad_);
  const double alpha = params_.eta * params_.rho;
  local_ = local_ - params_.eta * grad_ - alpha * (local_ - centre);
  if (!params_.easgd_paper_order) upload.values = local_;
  upload.samples = samples;
}

void EasgdServer::aggregate(const std::vector<Upload>& uploads) {
  w_ = (1.0 - beta_) * w_ + beta_ * mean_of_uploads(uploads);
}

}  // namespace dmlsim
