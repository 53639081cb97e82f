// First-order optimisers as pure maths, used for the inner steps of the DiLoCo family (on the
// mini-batch gradient) and for their outer step (on the pseudo-gradient Delta = w_g - mean_k w_k).
// Conventions are PyTorch's, so settings carry over from the papers:
//   sgd        w <- w - lr·g
//   momentum   m <- mu·m + g;  w <- w - lr·m                      (heavy ball; BMUF's block momentum)
//   nesterov   m <- mu·m + g;  w <- w - lr·(g + mu·m)              (DiLoCo's outer optimiser)
//   adam       m <- b1·m + (1-b1)·g;  v <- b2·v + (1-b2)·g²;  w <- w - lr·m̂/(sqrt(v̂) + eps),
//              m̂ = m/(1-b1^t), v̂ = v/(1-b2^t)
//   adamw      adam, plus decoupled weight decay w <- w - lr·wd·w before the step
// The state (m, v, t) lives in the object; reset() forgets it.
#pragma once

#include "model/model.hpp"

#include <string>
#include <vector>

namespace dmlsim {

enum class OptimizerKind { Sgd, Momentum, Nesterov, Adam, AdamW };

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::Sgd;
  double lr = 0.1;
  double momentum = 0.9;  // momentum, nesterov
  double beta1 = 0.9;     // adam, adamw
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0;  // adamw
};

// "sgd", "momentum", "nesterov", "adam", "adamw"; throws std::invalid_argument otherwise.
OptimizerKind optimizer_kind(const std::string& name);
// FLOPs one step costs per parameter (what the simulator charges for an update).
double optimizer_flops_per_parameter(OptimizerKind kind);

class Optimizer {
 public:
  explicit Optimizer(OptimizerSpec spec) : spec_(spec) {}
  // One step of w along the gradient (or pseudo-gradient) g.
  void step(Vector& w, const Vector& g);
  void reset();
  const OptimizerSpec& spec() const { return spec_; }

 private:
  void adam_step(Vector& w, const Vector& g);
  OptimizerSpec spec_;
  Vector m_;
  Vector v_;
  long steps_ = 0;
};

}  // namespace dmlsim
