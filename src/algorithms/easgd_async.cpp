// Asynchronous EASGD (Zhang, Choromanska & LeCun 2015, Algorithm 2) on the asynchronous parameter
// server. Workers keep their own models x_k. A push cycle: the worker holds the centre w~ of its
// last reply, runs tau local SGD steps, then makes the elastic exchange with that centre:
// d = alpha·(x_k − w~), x_k <- x_k − d, and pushes d; the server applies w <- w + d on arrival and
// replies with the new centre (alpha = eta·rho). The centre a worker uses is the one it pulled
// before its local steps, so the exchange is as stale as the recorded staleness says.
// Identity: rho = 0 leaves the centre unchanged.
#include "algorithms/registry.hpp"

namespace dmlsim {

namespace {

class ElasticCentre final : public ServerRole {
 public:
  explicit ElasticCentre(Vector initial) : w_(std::move(initial)) {}
  const Vector& broadcast() override { return w_; }
  void aggregate(const std::vector<Upload>& uploads) override {
    for (const auto& u : uploads) w_ += u.values;
  }
  const Vector& model() const override { return w_; }

 private:
  Vector w_;
};

class ElasticWorker final : public WorkerRole {
 public:
  ElasticWorker(const AlgorithmParams& params, Vector initial)
      : eta_(params.real("eta")), alpha_(params.real("eta") * params.real("rho")), tau_(params.integer("tau")),
        local_(std::move(initial)) {}

  void run_round(int round, const Vector& centre, LocalTrainer& trainer, Upload& upload) override {
    double samples = 0;
    for (int step = 0; step < tau_; ++step) samples += trainer.sgd_step(local_, eta_, round, step);
    upload.values = alpha_ * (local_ - centre);
    local_ -= upload.values;
    upload.samples = samples;
  }

 private:
  double eta_;
  double alpha_;
  int tau_;
  Vector local_;
};

}  // namespace

const AlgorithmInfo& easgd_async_algorithm() {
  static const AlgorithmInfo info{
      "easgd-async",
      "asynchronous elastic averaging SGD: tau local steps, then an elastic exchange with the centre",
      {learning_rate_attribute(), real_attribute("rho", 0.1, {0.0, 1e6}, "elastic penalty (alpha = eta·rho)"),
       integer_attribute("tau", 1, {1, 1 << 20}, "local steps between two elastic exchanges")},
      [](const AlgorithmSetup&, const Vector& initial) { return std::make_unique<ElasticCentre>(initial); },
      [](const AlgorithmSetup& setup, int, const Vector& initial) {
        return std::make_unique<ElasticWorker>(setup.params, initial);
      },
      [](const AlgorithmParams& params, const RoundCost& cost) {
        return params.integer("tau") * (cost.gradient_flops + cost.update_flops);
      },
      {[](const AlgorithmParams& params) {
        return std::vector<std::pair<std::string, AttributeValue>>{{"alpha", params.real("eta") * params.real("rho")}};
      }},
      {"parameter-server"},
      {},
      [](const AlgorithmParams&) { return kUnboundedStaleness; }};
  return info;
}

}  // namespace dmlsim
