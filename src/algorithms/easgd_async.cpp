// Asynchronous EASGD (Zhang, Choromanska & LeCun 2015, Algorithm 2) on the asynchronous parameter
// server. Workers keep their own models x_k. A push cycle: the worker holds the centre w~ of its
// last reply, runs tau local SGD steps, then makes the elastic exchange with that centre:
// d = alpha·(x_k − w~), x_k <- x_k − d, and pushes d; the server applies w <- w + d on arrival and
// replies with the new centre (alpha = eta·rho). The centre a worker uses is the one it pulled
// before its local steps, so the exchange is as stale as the recorded staleness says.
// EAMSGD (the paper's Alg. 4): `delta` > 0, the Nesterov momentum (the attribute `momentum` is
// BMUF's choice), makes the local steps v <- delta·v - eta·g(x_k + delta·v), x_k <- x_k + v, the
// velocity kept across pushes; the paper uses delta = 0.99. Identities: rho = 0 leaves the centre
// unchanged; delta = 0 is asynchronous EASGD (plain SGD steps).
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
      : eta_(params.real("eta")), alpha_(params.real("eta") * params.real("rho")), delta_(params.real("delta")),
        tau_(params.integer("tau")), local_(std::move(initial)), velocity_(Vector::Zero(local_.size())) {}

  void run_round(int round, const Vector& centre, LocalTrainer& trainer, Upload& upload) override {
    double samples = 0;
    for (int step = 0; step < tau_; ++step) {
      if (delta_ == 0) {
        samples += trainer.sgd_step(local_, eta_, round, step);
        continue;
      }
      lookahead_ = local_ + delta_ * velocity_;
      samples += trainer.gradient(lookahead_, round, step, grad_);
      velocity_ = delta_ * velocity_ - eta_ * grad_;
      local_ += velocity_;
      trainer.charge_flops(6.0 * static_cast<double>(local_.size()));
    }
    upload.values = alpha_ * (local_ - centre);
    local_ -= upload.values;
    upload.samples = samples;
  }
  bool uploads_a_model() const override { return false; }  // the elastic change d

 private:
  double eta_;
  double alpha_;
  double delta_;
  int tau_;
  Vector local_;
  Vector velocity_;
  Vector lookahead_;
  Vector grad_;
};

}  // namespace

const AlgorithmInfo& easgd_async_algorithm() {
  static const AlgorithmInfo info{
      "easgd-async",
      "asynchronous elastic averaging SGD: tau local steps, then an elastic exchange with the centre",
      {learning_rate_attribute(), real_attribute("rho", 0.1, {0.0, 1e6}, "elastic penalty (alpha = eta·rho)"),
       integer_attribute("tau", 1, {1, 1 << 20}, "local steps between two elastic exchanges"),
       real_attribute("delta", 0.0, {0.0, 1.0, true},
                      "EAMSGD: Nesterov momentum delta of the local steps (0: plain SGD steps; the paper: 0.99)")},
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
