#include "algorithms/algorithm.hpp"

#include "algorithms/registry.hpp"
#include "compression/compressed_roles.hpp"

#include <algorithm>
#include <numeric>

namespace dmlsim {

void TrainerScratch::fit(const Model& model, Eigen::Index chunk_rows, Eigen::Index cols) {
  if (workspace && rows.rows() >= chunk_rows && rows.cols() == cols) return;
  const Eigen::Index room = std::max(chunk_rows, rows.rows());
  rows.resize(room, cols);
  labels.resize(room);
  chunk.reserve(static_cast<std::size_t>(room));
  workspace = model.make_workspace(room);
  grad.resize(model.dim());
  chunk_grad.resize(model.dim());
}

LocalTrainer::LocalTrainer(const Model& model, const Dataset& train, const std::vector<int>& partition,
                           BatchSpec batch, std::uint64_t seed, int worker, double flops_per_sample,
                           std::shared_ptr<TrainerScratch> scratch)
    : model_(model), train_(train), sampler_(batch, partition), spec_(batch), seed_(seed), worker_(worker),
      flops_per_sample_(flops_per_sample),
      partition_rows_(static_cast<double>(partition.size())),
      chunk_rows_(std::min<Eigen::Index>(kChunkRows, std::max<Eigen::Index>(1, static_cast<Eigen::Index>(partition.size())))),
      scratch_(scratch ? std::move(scratch) : std::make_shared<TrainerScratch>()) {
  scratch_->fit(model, chunk_rows_, train.cols());
}

int LocalTrainer::gradient(const Vector& w, int round, int step, Vector& grad) {
  const auto batch_step = static_cast<std::uint64_t>(spec_.same_batch_within_round ? 0 : step);
  Rng rng(derive_key(seed_, Stream::Batch,
                     {static_cast<std::uint64_t>(worker_), static_cast<std::uint64_t>(round), batch_step}));
  const auto& batch = sampler_.draw(rng);
  const auto n = static_cast<Eigen::Index>(batch.size());
  auto& s = *scratch_;
  grad.resize(model_.dim());
  if (n <= chunk_rows_) {  // the common case: one chunk, the model's mean is the answer
    train_.gather(batch, s.rows, s.labels);
    model_.gradient(s.rows.topRows(n), s.labels.head(n), w, grad, *s.workspace);
  } else {  // mean over the batch = Σ chunk means weighted by chunk sizes
    grad.setZero();
    for (Eigen::Index begin = 0; begin < n; begin += chunk_rows_) {
      const Eigen::Index count = std::min(chunk_rows_, n - begin);
      s.chunk.assign(batch.begin() + begin, batch.begin() + begin + count);
      train_.gather(s.chunk, s.rows, s.labels);
      model_.gradient(s.rows.topRows(count), s.labels.head(count), w, s.chunk_grad, *s.workspace);
      grad.noalias() += (static_cast<double>(count) / static_cast<double>(n)) * s.chunk_grad;
    }
  }
  flops_ += flops_per_sample_ * static_cast<double>(n);
  return static_cast<int>(n);
}

int LocalTrainer::sgd_step(Vector& w, double eta, int round, int step) {
  auto& grad = scratch_->grad;
  const int n = gradient(w, round, step, grad);
  w.noalias() -= eta * grad;
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

void StreamingServerRole::aggregate(const std::vector<Upload>& uploads) {
  for (const auto& upload : uploads) fold(upload);
  end_round();
}

Vector mean_of_uploads(const std::vector<Upload>& uploads) {
  Vector sum = Vector::Zero(uploads.front().values.size());
  for (const auto& u : uploads) sum += u.values;
  return sum / static_cast<double>(uploads.size());
}

// Streaming algorithms compress their own fragments (registry.hpp); the others get the wrapper.
std::unique_ptr<ServerRole> make_server(const AlgorithmSetup& setup, const Vector& initial) {
  const auto& algorithm = setup.params.algorithm();
  if (algorithm.streaming) return algorithm.make_server(setup, initial);
  return compress_server(algorithm.make_server(setup, initial), setup.compression, initial, setup.seed);
}

std::unique_ptr<WorkerRole> make_worker(const AlgorithmSetup& setup, int worker, const Vector& initial) {
  const auto& algorithm = setup.params.algorithm();
  if (algorithm.streaming) return algorithm.make_worker(setup, worker, initial);
  return compress_worker(algorithm.make_worker(setup, worker, initial), setup.compression, initial, setup.seed, worker);
}

}  // namespace dmlsim
