#include "algorithms/algorithm.hpp"

#include "algorithms/bmuf.hpp"
#include "algorithms/easgd.hpp"
#include "algorithms/ma.hpp"
#include "algorithms/ssgd.hpp"

namespace dmlsim {

std::string algorithm_name(AlgorithmKind kind) {
  switch (kind) {
    case AlgorithmKind::Ssgd: return "ssgd";
    case AlgorithmKind::Ma: return "ma";
    case AlgorithmKind::Bmuf: return "bmuf";
    case AlgorithmKind::Easgd: return "easgd";
  }
  return "?";
}

LocalTrainer::LocalTrainer(const Model& model, const Dataset& train, const std::vector<int>& partition,
                           BatchSpec batch, std::uint64_t seed, int worker)
    : model_(model), train_(train), sampler_(batch, partition), spec_(batch), seed_(seed), worker_(worker),
      grad_(model.dim()) {}

int LocalTrainer::gradient(const Vector& w, int round, int step, Vector& grad) {
  const auto batch_step = static_cast<std::uint64_t>(spec_.same_batch_within_round ? 0 : step);
  Rng rng(derive_key(seed_, Stream::Batch,
                     {static_cast<std::uint64_t>(worker_), static_cast<std::uint64_t>(round), batch_step}));
  const auto& rows = sampler_.draw(rng);
  grad.resize(model_.dim());
  model_.gradient(train_, rows, w, grad);
  flops_ += model_.gradient_flops_per_sample() * static_cast<double>(rows.size());
  return static_cast<int>(rows.size());
}

int LocalTrainer::sgd_step(Vector& w, double eta, int round, int step) {
  const int n = gradient(w, round, step, grad_);
  w.noalias() -= eta * grad_;
  flops_ += 2.0 * static_cast<double>(w.size());
  return n;
}

double LocalTrainer::take_flops() {
  const double f = flops_;
  flops_ = 0;
  return f;
}

Vector mean_of_uploads(const std::vector<Upload>& uploads) {
  Vector sum = Vector::Zero(uploads.front().values.size());
  for (const auto& u : uploads) sum += u.values;
  return sum / static_cast<double>(uploads.size());
}

std::unique_ptr<ServerRole> make_server(const AlgorithmSetup& setup, const Vector& initial) {
  switch (setup.params.kind) {
    case AlgorithmKind::Ssgd: return std::make_unique<SsgdServer>(setup.params, initial);
    case AlgorithmKind::Ma: return std::make_unique<MaServer>(initial);
    case AlgorithmKind::Bmuf: return std::make_unique<BmufServer>(setup, initial);
    case AlgorithmKind::Easgd: return std::make_unique<EasgdServer>(setup.params, setup.workers, initial);
  }
  return nullptr;
}

std::unique_ptr<WorkerRole> make_worker(const AlgorithmSetup& setup, int worker, const Vector& initial) {
  switch (setup.params.kind) {
    case AlgorithmKind::Ssgd: return std::make_unique<SsgdWorker>(setup.params);
    case AlgorithmKind::Ma:
    case AlgorithmKind::Bmuf: return std::make_unique<MaWorker>(setup.params);
    case AlgorithmKind::Easgd: {
      const Vector start = setup.params.easgd_independent_init
                               ? initial_parameters(setup.init, initial.size(),
                                                    derive_key(setup.seed, Stream::WorkerInit,
                                                               {static_cast<std::uint64_t>(worker)}))
                               : initial;
      return std::make_unique<EasgdWorker>(setup.params, start);
    }
  }
  return nullptr;
}

}  // namespace dmlsim
