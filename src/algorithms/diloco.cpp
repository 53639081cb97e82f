#include "algorithms/diloco.hpp"

#include "algorithms/ma.hpp"
#include "algorithms/registry.hpp"

#include <array>

namespace dmlsim {

namespace {

const Range kBeta{0.0, 1.0, true};  // Adam betas and momenta lie in [0, 1)

// The optimiser that the attributes named in `names` describe: kind, lr, momentum, beta1, beta2.
OptimizerSpec optimizer_spec(const AlgorithmParams& params, const std::array<const char*, 5>& names) {
  OptimizerSpec spec;
  spec.kind = optimizer_kind(params.choice(names[0]));
  spec.lr = params.real(names[1]);
  spec.momentum = params.real(names[2]);
  spec.beta1 = params.real(names[3]);
  spec.beta2 = params.real(names[4]);
  spec.epsilon = params.real("epsilon");
  return spec;
}

}  // namespace

OptimizerSpec outer_spec(const AlgorithmParams& params) {
  return optimizer_spec(params, {"outer", "outer-lr", "outer-momentum", "outer-beta1", "outer-beta2"});
}

std::vector<AttributeSpec> outer_optimizer_attributes() {
  return {choice_attribute("outer", "nesterov", {"sgd", "momentum", "nesterov", "adam"},
                           "outer optimiser on Delta = w_g - mean_k w_k"),
          real_attribute("outer-lr", 0.7, {0.0, 1e6}, "outer learning rate (sgd with 1 = MA)"),
          real_attribute("outer-momentum", 0.9, kBeta, "outer momentum (momentum, nesterov)"),
          real_attribute("outer-beta1", 0.9, kBeta, "outer Adam beta1"),
          real_attribute("outer-beta2", 0.999, kBeta, "outer Adam beta2")};
}

InnerParams::InnerParams(const AlgorithmParams& params)
    : optimizer(optimizer_spec(params, {"inner", "eta", "inner-momentum", "beta1", "beta2"})),
      local_steps(params.integer("local-steps")),
      reset_each_round(params.choice("inner-state") == "reset") {
  optimizer.weight_decay = params.real("weight-decay");
}

std::vector<AttributeSpec> inner_optimizer_attributes() {
  return {learning_rate_attribute(),
          local_steps_attribute(),
          choice_attribute("inner", "sgd", {"sgd", "momentum", "adamw"}, "inner optimiser of the workers' H local steps"),
          real_attribute("inner-momentum", 0.9, kBeta, "momentum of the inner momentum SGD"),
          real_attribute("beta1", 0.9, kBeta, "inner AdamW beta1"),
          real_attribute("beta2", 0.95, kBeta, "inner AdamW beta2"),
          real_attribute("weight-decay", 0.0, {0.0, 1e6}, "inner AdamW decoupled weight decay"),
          real_attribute("epsilon", 1e-8, {1e-300, 1.0}, "Adam/AdamW epsilon (inner and outer)"),
          choice_attribute("inner-state", "keep", {"keep", "reset"},
                           "inner optimiser state kept across rounds (keep) or cleared at each round (reset)")};
}

double inner_steps_flops(const AlgorithmParams& params, const RoundCost& cost) {
  const double update = cost.update_flops / 2.0 * optimizer_flops_per_parameter(optimizer_kind(params.choice("inner")));
  return params.integer("local-steps") * (cost.gradient_flops + update);
}

double inner_steps(Optimizer& optimizer, Vector& w, int round, int first, int last, LocalTrainer& trainer,
                   Vector& grad) {
  const double update_flops = optimizer_flops_per_parameter(optimizer.spec().kind) * static_cast<double>(w.size());
  double samples = 0;
  for (int step = first; step < last; ++step) {
    samples += trainer.gradient(w, round, step, grad);
    optimizer.step(w, grad);
    trainer.charge_flops(update_flops);
  }
  return samples;
}

void InnerOptimizerWorker::run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) {
  if (params_.reset_each_round) optimizer_.reset();
  upload.values = received;
  upload.samples = inner_steps(optimizer_, upload.values, round, 0, params_.local_steps, trainer, grad_);
}

Vector pseudo_gradient(const Vector& start, const std::vector<Upload>& uploads) {
  return start - mean_of_uploads(uploads);
}

void DilocoServer::aggregate(const std::vector<Upload>& uploads) { outer_.step(w_, pseudo_gradient(w_, uploads)); }

const AlgorithmInfo& diloco_algorithm() {
  static const AlgorithmInfo info = [] {
    auto attributes = inner_optimizer_attributes();
    for (auto& attribute : outer_optimizer_attributes()) attributes.push_back(std::move(attribute));
    return AlgorithmInfo{
        "diloco",
        "DiLoCo: H inner steps (SGD, momentum, AdamW), then an outer optimiser step on the averaged pseudo-gradient",
        std::move(attributes),
        [](const AlgorithmSetup& setup, const Vector& initial) {
          return std::make_unique<DilocoServer>(outer_spec(setup.params), initial);
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
