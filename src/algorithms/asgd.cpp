#include "algorithms/asgd.hpp"

#include "algorithms/asynchronous.hpp"
#include "algorithms/registry.hpp"

namespace dmlsim {

AttributeSpec push_scale_attribute() {
  return choice_attribute("push-scale", "one", {"one", "mean"},
                          "the server applies eta·g per push (one) or (eta/K)·g (mean: K pushes weigh as one SSGD round)");
}

std::unique_ptr<ServerRole> make_asgd_server(const AlgorithmSetup& setup, const Vector& initial) {
  const double eta = setup.params.real("eta");
  const bool mean = setup.params.choice("push-scale") == "mean";
  return std::make_unique<AsgdServer>(mean ? eta / setup.workers : eta, initial);
}

std::unique_ptr<WorkerRole> make_gradient_worker(const AlgorithmSetup&, int, const Vector&) {
  return std::make_unique<GradientWorker>();
}

double one_gradient_flops(const AlgorithmParams&, const RoundCost& cost) { return cost.gradient_flops; }

const AlgorithmInfo& asgd_algorithm() {
  static const AlgorithmInfo info{
      "asgd",
      "asynchronous SGD (Downpour): the server applies each worker's gradient on arrival (rounds = server updates)",
      {learning_rate_attribute(), push_scale_attribute()},
      make_asgd_server,
      make_gradient_worker,
      one_gradient_flops,
      {},
      {"parameter-server"},
      {},
      [](const AlgorithmParams&) { return kUnboundedStaleness; }};
  return info;
}

}  // namespace dmlsim
