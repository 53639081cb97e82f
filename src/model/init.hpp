// Initial parameters: zeros, a constant, or uniform in [-1, 1) from a seeded stream (the seed
// draws 2·ranf() - 1).
#pragma once

#include "data/dataset.hpp"
#include "util/rng.hpp"

namespace dmlsim {

// Glorot (Xavier) uniform is only meaningful per layer: models with layers implement it.
enum class InitRule { Zeros, Constant, Uniform, Glorot };

struct InitSpec {
  InitRule rule = InitRule::Uniform;
  double value = 0.0;  // for Constant
};

inline Vector initial_parameters(const InitSpec& spec, Eigen::Index dim, std::uint64_t key) {
  Vector w(dim);
  switch (spec.rule) {
    case InitRule::Zeros: w.setZero(); break;
    case InitRule::Constant: w.setConstant(spec.value); break;
    case InitRule::Glorot:  // a model without layers treats it as uniform in [-1, 1)
    case InitRule::Uniform: {
      Rng rng(key);
      for (Eigen::Index i = 0; i < dim; ++i) w(i) = rng.uniform(-1.0, 1.0);
      break;
    }
  }
  return w;
}

}  // namespace dmlsim
