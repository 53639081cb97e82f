// The trainable model seen by the algorithms: a flat parameter vector, a mini-batch gradient and
// an evaluation. Pure Eigen code; FLOP counts let the simulator charge compute time.
#pragma once

#include "data/dataset.hpp"

#include <string>
#include <vector>

namespace dmlsim {

struct Evaluation {
  double accuracy = 0;
  double loss = 0;  // mean log loss
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  // Number of parameters (the length of the flat vector that is communicated).
  virtual Eigen::Index dim() const = 0;
  // Mean gradient of the loss over `rows` of `data` at `w`, written into `grad` (resized by the
  // caller to dim()). An empty batch gives a zero gradient.
  virtual void gradient(const Dataset& data, const std::vector<int>& rows, const Vector& w, Vector& grad) const = 0;
  virtual Evaluation evaluate(const Dataset& data, const Vector& w) const = 0;
  // FLOPs charged for one sample's gradient (forward + backward) and one prediction.
  virtual double gradient_flops_per_sample() const = 0;
  virtual double prediction_flops_per_sample() const = 0;
};

}  // namespace dmlsim
