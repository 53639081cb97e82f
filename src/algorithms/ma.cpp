#include "algorithms/ma.hpp"

namespace dmlsim {

void MaWorker::run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) {
  upload.values = received;
  double samples = 0;
  for (int step = 0; step < params_.local_steps; ++step)
    samples += trainer.sgd_step(upload.values, params_.eta, round, step);
  upload.samples = samples;
}

}  // namespace dmlsim
