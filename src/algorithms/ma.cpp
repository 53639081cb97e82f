#include "algorithms/ma.hpp"

#include "algorithms/registry.hpp"

namespace dmlsim {

MaParams::MaParams(const AlgorithmParams& params) : eta(params.real("eta")), local_steps(params.integer("local-steps")) {}

AttributeSpec local_steps_attribute() {
  return integer_attribute("local-steps", 5, {1, 1 << 20}, "M: local SGD steps per round (block)");
}

double local_steps_flops(const AlgorithmParams& params, const RoundCost& cost) {
  return params.integer("local-steps") * (cost.gradient_flops + cost.update_flops);
}

void MaWorker::run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) {
  upload.values = received;
  double samples = 0;
  for (int step = 0; step < params_.local_steps; ++step)
    samples += trainer.sgd_step(upload.values, params_.eta, round, step);
  upload.samples = samples;
}

// The mean of mean_of_uploads(), summed in the same order.
void MaServer::fold(const Upload& upload) {
  if (folded_++ == 0) sum_.setZero(w_.size());
  sum_ += upload.values;
}

void MaServer::end_round() {
  w_ = sum_ / static_cast<double>(folded_);
  folded_ = 0;
}

const AlgorithmInfo& ma_algorithm() {
  static const AlgorithmInfo info{
      "ma",
      "model averaging (local SGD): M local steps per worker, then the server averages the models",
      {learning_rate_attribute(), local_steps_attribute()},
      [](const AlgorithmSetup&, const Vector& initial) { return std::make_unique<MaServer>(initial); },
      [](const AlgorithmSetup& setup, int, const Vector&) { return std::make_unique<MaWorker>(MaParams(setup.params)); },
      local_steps_flops,
      {}};
  return info;
}

}  // namespace dmlsim
