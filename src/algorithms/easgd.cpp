#include "algorithms/easgd.hpp"

#include "algorithms/registry.hpp"

namespace dmlsim {
namespace {

std::unique_ptr<WorkerRole> make_easgd_worker(const AlgorithmSetup& setup, int worker, const Vector& initial) {
  const EasgdParams params(setup.params);
  const Vector start = params.independent_init
                           ? initial_parameters(setup.init, initial.size(),
                                                derive_key(setup.seed, Stream::WorkerInit, {static_cast<std::uint64_t>(worker)}))
                           : initial;
  return std::make_unique<EasgdWorker>(params, start);
}

}  // namespace

EasgdParams::EasgdParams(const AlgorithmParams& params)
    : eta(params.real("eta")), rho(params.real("rho")), tau(params.integer("tau")),
      paper_order(params.choice("order") == "paper"), independent_init(params.choice("worker-init") == "independent") {}

void EasgdWorker::run_round(int round, const Vector& centre, LocalTrainer& trainer, Upload& upload) {
  double samples = 0;
  for (int step = 0; step + 1 < params_.tau; ++step) samples += trainer.sgd_step(local_, params_.eta, round, step);
  if (params_.paper_order) upload.values = local_;
  samples += trainer.gradient(local_, round, params_.tau - 1, grad_);
  const double alpha = params_.eta * params_.rho;
  local_ = local_ - params_.eta * grad_ - alpha * (local_ - centre);
  if (!params_.paper_order) upload.values = local_;
  upload.samples = samples;
}

void EasgdServer::aggregate(const std::vector<Upload>& uploads) {
  w_ = (1.0 - beta_) * w_ + beta_ * mean_of_uploads(uploads);
}

const AlgorithmInfo& easgd_algorithm() {
  static const AlgorithmInfo info{
      "easgd",
      "synchronous elastic averaging SGD: workers keep their models, pulled towards a centre every tau steps",
      {learning_rate_attribute(), real_attribute("rho", 0.1, {0.0, 1e6}, "elastic penalty (alpha = eta·rho, beta = K·alpha)"),
       integer_attribute("tau", 1, {1, 1 << 20}, "local steps per round, the last one elastic"),
       choice_attribute("order", "seed", {"seed", "paper"},
                        "centre averages the workers' models after (seed) or before (paper) their step"),
       choice_attribute("worker-init", "centre", {"centre", "independent"},
                        "workers start from the centre or from their own random draw (the seed)")},
      [](const AlgorithmSetup& setup, const Vector& initial) {
        return std::make_unique<EasgdServer>(EasgdParams(setup.params), setup.workers, initial);
      },
      make_easgd_worker,
      [](const AlgorithmParams& params, const RoundCost& cost) {
        const int tau = params.integer("tau");
        return tau * cost.gradient_flops + (tau - 1) * cost.update_flops;
      },
      [](const AlgorithmParams& params) {
        return std::vector<std::pair<std::string, AttributeValue>>{{"alpha", params.real("eta") * params.real("rho")}};
      }};
  return info;
}

}  // namespace dmlsim
