// The trainable model seen by the algorithms: a flat parameter vector (what is communicated), a
// mini-batch gradient and a scoring function. Models work on gathered batches (float64 rows the
// caller owns), never on the data set's storage, so one data set serves every worker in place.
// Pure Eigen code; FLOP counts let the simulator charge compute time.
#pragma once

#include "data/dataset.hpp"
#include "model/init.hpp"

#include <memory>
#include <string>
#include <vector>

namespace dmlsim {

using ConstRows = Eigen::Ref<const Matrix>;
using ConstLabels = Eigen::Ref<const Vector>;

// Per-caller scratch space (activations of an MLP), sized once for the largest batch.
struct Workspace {
  virtual ~Workspace() = default;
};

struct Evaluation {
  double accuracy = 0;
  double loss = 0;  // mean loss (log loss / cross-entropy)
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  // e.g. "mlp 784-128-10"
  virtual std::string describe() const = 0;
  // Number of parameters (the length of the flat vector that is communicated).
  virtual Eigen::Index dim() const = 0;
  virtual std::unique_ptr<Workspace> make_workspace(Eigen::Index max_rows) const = 0;
  // Mean gradient of the loss over the rows of X (labels y) at w, into grad (size dim()).
  // An empty batch gives a zero gradient.
  virtual void gradient(const ConstRows& X, const ConstLabels& y, const Vector& w, Vector& grad, Workspace& ws) const = 0;
  // Adds the number of correct predictions and the summed loss over the rows of X.
  virtual void score(const ConstRows& X, const ConstLabels& y, const Vector& w, double& correct, double& loss,
                     Workspace& ws) const = 0;
  // FLOPs charged for one sample's gradient (forward + backward) and one prediction.
  virtual double gradient_flops_per_sample() const = 0;
  virtual double prediction_flops_per_sample() const = 0;
  virtual Vector initial_parameters(const InitSpec& spec, std::uint64_t key) const {
    return dmlsim::initial_parameters(spec, dim(), key);
  }
};

// Accuracy and mean loss over the first `max_rows` rows of `data` (all if 0), in chunks.
Evaluation evaluate(const Model& model, const Dataset& data, const Vector& w, Eigen::Index max_rows = 0);

}  // namespace dmlsim
