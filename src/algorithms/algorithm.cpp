#include "algorithms/algorithm.hpp"

#include "algorithms/registry.hpp"

#include <algorithm>
#include <numeric>

namespace dmlsim {

LocalTrainer::LocalTrainer(const Model& model, const Dataset& train, const std::vector<int>& partition,
                           BatchSpec batch, std::uint64_t seed, int worker, double flops_per_sample)
    : model_(model), train_(train), sampler_(batch, partition), spec_(batch), seed_(seed), worker_(worker),
      flops_per_sample_(flops_per_sample), partition_rows_(static_cast<double>(partition.size())) {
  const auto chunk = std::min<Eigen::Index>(kChunkRows, std::max<Eigen::Index>(1, static_cast<Eigen::Index>(partition.size())));
  rows_.resize(chunk, train.cols());
  labels_.resize(chunk);
  chunk_.reserve(static_cast<std::size_t>(chunk));
  workspace_ = model.make_workspace(chunk);
  grad_.resize(model.dim());
  chunk_grad_.resize(model.dim());
}

int LocalTrainer::gradient(const Vector& w, int round, int step, Vector& grad) {
  const auto batch_step = static_cast<std::uint64_t>(spec_.same_batch_within_round ? 0 : step);
  Rng rng(derive_key(seed_, Stream::Batch,
                     {static_cast<std::uint64_t>(worker_), static_cast<std::uint64_t>(round), batch_step}));
  const auto& batch = sampler_.draw(rng);
  const auto n = static_cast<Eigen::Index>(batch.size());
  grad.resize(model_.dim());
  if (n <= rows_.rows()) {  // the common case: one chunk, the model's mean is the answer
    train_.gather(batch, rows_, labels_);
    model_.gradient(rows_.topRows(n), labels_.head(n), w, grad, *workspace_);
  } else {  // mean over the batch = Σ chunk means weighted by chunk sizes
    grad.setZero();
    for (Eigen::Index begin = 0; begin < n; begin += rows_.rows()) {
      const Eigen::Index count = std::min(rows_.rows(), n - begin);
      chunk_.assign(batch.begin() + begin, batch.begin() + begin + count);
      train_.gather(chunk_, rows_, labels_);
      model_.gradient(rows_.topRows(count), labels_.head(count), w, chunk_grad_, *workspace_);
      grad.noalias() += (static_cast<double>(count) / static_cast<double>(n)) * chunk_grad_;
    }
  }
  flops_ += flops_per_sample_ * static_cast<double>(n);
  return static_cast<int>(n);
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

std::vector<int> ServerRole::participants(int, int workers) {
  std::vector<int> all(static_cast<std::size_t>(workers));
  std::iota(all.begin(), all.end(), 0);
  return all;
}

std::vector<int> first_arrivals(std::vector<Arrival> arrivals, int needed) {
  std::sort(arrivals.begin(), arrivals.end(),
            [](const Arrival& a, const Arrival& b) { return a.time != b.time ? a.time < b.time : a.worker < b.worker; });
  std::vector<int> chosen;
  for (std::size_t i = 0; i < arrivals.size() && static_cast<int>(i) < needed; ++i) chosen.push_back(arrivals[i].worker);
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

Vector mean_of_uploads(const std::vector<Upload>& uploads) {
  Vector sum = Vector::Zero(uploads.front().values.size());
  for (const auto& u : uploads) sum += u.values;
  return sum / static_cast<double>(uploads.size());
}

std::unique_ptr<ServerRole> make_server(const AlgorithmSetup& setup, const Vector& initial) {
  return setup.params.algorithm().make_server(setup, initial);
}

std::unique_ptr<WorkerRole> make_worker(const AlgorithmSetup& setup, int worker, const Vector& initial) {
  return setup.params.algorithm().make_worker(setup, worker, initial);
}

}  // namespace dmlsim
