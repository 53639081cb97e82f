// SlowMo (Wang et al. 2020): the DiLoCo round with a slow-momentum outer rule. With gamma the inner
// learning rate (eta) and Delta = w_g - mean_k w_k:
//   u <- beta·u + Delta / gamma;   w <- w_g - alpha·gamma·u.
// Identity: alpha = 1, beta = 0 is MA (to rounding: w_g - gamma·(Delta/gamma)).
#include "algorithms/diloco.hpp"
#include "algorithms/registry.hpp"

namespace dmlsim {

namespace {

class SlowMoServer final : public ServerRole {
 public:
  SlowMoServer(const AlgorithmParams& params, Vector initial)
      : w_(std::move(initial)), u_(Vector::Zero(w_.size())), gamma_(params.real("eta")), alpha_(params.real("alpha")),
        beta_(params.real("beta")) {}
  const Vector& broadcast() override { return w_; }
  void aggregate(const std::vector<Upload>& uploads) override {
    // gamma = 0 means the workers never moved: Delta = 0 and the slow momentum only decays.
    const Vector delta = pseudo_gradient(w_, uploads);
    u_ = beta_ * u_ + (gamma_ > 0 ? Vector(delta / gamma_) : Vector::Zero(w_.size()));
    w_ -= alpha_ * gamma_ * u_;
  }
  const Vector& model() const override { return w_; }

 private:
  Vector w_;
  Vector u_;
  double gamma_, alpha_, beta_;
};

}  // namespace

const AlgorithmInfo& slowmo_algorithm() {
  static const AlgorithmInfo info = [] {
    auto attributes = inner_optimizer_attributes();
    attributes.push_back(real_attribute("alpha", 1.0, {0.0, 1e6}, "SlowMo slow learning rate"));
    attributes.push_back(real_attribute("beta", 0.5, {0.0, 1.0, true}, "SlowMo slow momentum"));
    return AlgorithmInfo{
        "slowmo",
        "SlowMo: H inner steps, then slow momentum u <- beta·u + Delta/eta, w <- w_g - alpha·eta·u",
        std::move(attributes),
        [](const AlgorithmSetup& setup, const Vector& initial) {
          return std::make_unique<SlowMoServer>(setup.params, initial);
        },
        [](const AlgorithmSetup& setup, int, const Vector&) {
          return std::make_unique<InnerOptimizerWorker>(InnerParams(setup.params));
        },
        inner_steps_flops,
        {}};
  }();
  return info;
}

}  // namespace dmlsim
