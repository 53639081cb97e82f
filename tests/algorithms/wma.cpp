// WMA (sample-weighted model averaging): MA whose server weighs each worker's model by the
// samples it trained on this round, w <- Σ_k (n_k / N) w_k with N = Σ_k n_k (a round where no
// worker drew a sample keeps the plain mean). With equal n_k (fixed batches) it is MA; with
// Bernoulli batches a worker that happened to see more rows counts more.
// Identity: weighted = false is MA bit for bit; so is weighted = true with fixed batches when K
// is a power of two (n_k / N = 1/K exactly).
//
// It is written exactly as a shipped algorithm would be (its own file, nothing edited elsewhere)
// but registered only in the test binary that checks that claim: every synchronous rule in
// ALGORITHMS.md that dmlsim lacks is assigned to another issue.
#include "algorithms/ma.hpp"
#include "algorithms/registry.hpp"

namespace dmlsim {
namespace {

class WmaServer final : public ServerRole {
 public:
  WmaServer(bool weighted, Vector initial) : weighted_(weighted), w_(std::move(initial)) {}
  const Vector& broadcast() override { return w_; }
  void aggregate(const std::vector<Upload>& uploads) override;
  const Vector& model() const override { return w_; }

 private:
  bool weighted_;
  Vector w_;
};

void WmaServer::aggregate(const std::vector<Upload>& uploads) {
  double samples = 0;
  for (const auto& u : uploads) samples += u.samples;
  if (!weighted_ || samples <= 0) {
    w_ = mean_of_uploads(uploads);
    return;
  }
  Vector sum = Vector::Zero(w_.size());
  for (const auto& u : uploads) sum += (u.samples / samples) * u.values;
  w_ = std::move(sum);
}

}  // namespace

const AlgorithmInfo& wma_algorithm() {
  static const AlgorithmInfo info{
      "wma",
      "sample-weighted model averaging: MA whose server weighs each model by the samples behind it",
      {learning_rate_attribute(), local_steps_attribute(),
       boolean_attribute("weighted", true, "weigh the models by their samples (false: the plain mean, i.e. MA)")},
      [](const AlgorithmSetup& setup, const Vector& initial) {
        return std::make_unique<WmaServer>(setup.params.boolean("weighted"), initial);
      },
      [](const AlgorithmSetup& setup, int, const Vector&) { return std::make_unique<MaWorker>(MaParams(setup.params)); },
      local_steps_flops,
      {}};
  return info;
}

}  // namespace dmlsim
