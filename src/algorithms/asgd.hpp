// ASGD / Downpour (Dean et al. 2012): a worker pulls w, computes g_k(w) on one mini-batch and
// pushes it; the server applies w <- w - eta·g_k on arrival and replies to that worker only.
// `push-scale="mean"` applies eta/K instead, so K pushes weigh as one SSGD round of batch means.
// SSP (ssp.cpp) is the same server with a staleness bound. Identity: K = 1 is sequential SGD.
#pragma once

#include "algorithms/algorithm.hpp"
#include "algorithms/attributes.hpp"

namespace dmlsim {

struct RoundCost;

class AsgdServer final : public ServerRole {
 public:
  AsgdServer(double step, Vector initial) : step_(step), w_(std::move(initial)) {}
  const Vector& broadcast() override { return w_; }
  // Applies each upload in turn, as it arrived (the asynchronous server passes one at a time).
  void aggregate(const std::vector<Upload>& uploads) override {
    for (const auto& u : uploads) w_.noalias() -= step_ * u.values;
  }
  const Vector& model() const override { return w_; }

 private:
  double step_;  // eta, or eta/K
  Vector w_;
};

// What ASGD and SSP share: the push-scale attribute, the server's step, one gradient per push.
AttributeSpec push_scale_attribute();
std::unique_ptr<ServerRole> make_asgd_server(const AlgorithmSetup& setup, const Vector& initial);
std::unique_ptr<WorkerRole> make_gradient_worker(const AlgorithmSetup& setup, int worker, const Vector& initial);
double one_gradient_flops(const AlgorithmParams& params, const RoundCost& cost);

}  // namespace dmlsim
