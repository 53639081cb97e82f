#include "algorithms/optimizers.hpp"

#include "util/quote.hpp"

#include <cmath>
#include <stdexcept>

namespace dmlsim {

OptimizerKind optimizer_kind(const std::string& name) {
  if (name == "sgd") return OptimizerKind::Sgd;
  if (name == "momentum") return OptimizerKind::Momentum;
  if (name == "nesterov") return OptimizerKind::Nesterov;
  if (name == "adam") return OptimizerKind::Adam;
  if (name == "adamw") return OptimizerKind::AdamW;
  throw std::invalid_argument("unknown optimiser " + quote_input(name) + " (sgd, momentum, nesterov, adam, adamw)");
}

double optimizer_flops_per_parameter(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::Sgd: return 2;
    case OptimizerKind::Momentum: return 4;
    case OptimizerKind::Nesterov: return 6;
    case OptimizerKind::Adam: return 12;
    case OptimizerKind::AdamW: return 14;
  }
  return 2;
}

void Optimizer::reset() {
  m_.resize(0);
  v_.resize(0);
  steps_ = 0;
}

void Optimizer::step(Vector& w, const Vector& g) {
  if (m_.size() != g.size() && spec_.kind != OptimizerKind::Sgd) {
    m_ = Vector::Zero(g.size());
    v_ = Vector::Zero(g.size());
  }
  switch (spec_.kind) {
    case OptimizerKind::Sgd:
      w.noalias() -= spec_.lr * g;  // exactly LocalTrainer::sgd_step, so inner SGD reproduces MA bit for bit
      return;
    case OptimizerKind::Momentum:
      m_ = spec_.momentum * m_ + g;
      w.noalias() -= spec_.lr * m_;
      return;
    case OptimizerKind::Nesterov:
      m_ = spec_.momentum * m_ + g;
      w.noalias() -= spec_.lr * (g + spec_.momentum * m_);
      return;
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW:
      adam_step(w, g);
      return;
  }
}

void Optimizer::adam_step(Vector& w, const Vector& g) {
  ++steps_;
  if (spec_.kind == OptimizerKind::AdamW) w *= 1.0 - spec_.lr * spec_.weight_decay;
  m_ = spec_.beta1 * m_ + (1.0 - spec_.beta1) * g;
  v_ = spec_.beta2 * v_ + (1.0 - spec_.beta2) * g.cwiseProduct(g);
  const double m_correction = 1.0 - std::pow(spec_.beta1, static_cast<double>(steps_));
  const double v_correction = 1.0 - std::pow(spec_.beta2, static_cast<double>(steps_));
  w.array() -= spec_.lr * (m_.array() / m_correction) / ((v_.array() / v_correction).sqrt() + spec_.epsilon);
}

}  // namespace dmlsim
