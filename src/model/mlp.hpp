// Multi-layer perceptron: inputs → hidden layers (ReLU) → C logits, softmax cross-entropy.
// Parameters, flattened layer by layer: W_l (out × in, row-major) then b_l (out).
// Initialisation: Glorot (Xavier) uniform weights, zero biases, unless the scenario says otherwise.
//
// FLOPs per sample, with P_l = in_l · out_l the weight count of layer l:
//   prediction: 2·Σ P_l (the matrix products; biases and ReLU are not counted);
//   gradient:   forward 2·Σ P_l + weight gradients 2·Σ P_l + input gradients 2·Σ_{l≥2} P_l
//               (the first layer needs no gradient with respect to the data).
#pragma once

#include "model/model.hpp"

namespace dmlsim {

class Mlp final : public Model {
 public:
  // sizes = {inputs, hidden…, classes}
  explicit Mlp(std::vector<Eigen::Index> sizes);
  std::string name() const override { return "mlp"; }
  std::string describe() const override;
  Eigen::Index dim() const override { return dim_; }
  std::unique_ptr<Workspace> make_workspace(Eigen::Index max_rows) const override;
  void gradient(const ConstRows& X, const ConstLabels& y, const Vector& w, Vector& grad, Workspace& ws) const override;
  void score(const ConstRows& X, const ConstLabels& y, const Vector& w, double& correct, double& loss,
             Workspace& ws) const override;
  double gradient_flops_per_sample() const override;
  double prediction_flops_per_sample() const override;
  Vector initial_parameters(const InitSpec& spec, std::uint64_t key) const override;

 private:
  struct Layer {
    Eigen::Index in, out, weights_offset, bias_offset;
  };
  // Fills the workspace activations for X; returns the logits block.
  void forward(const ConstRows& X, const Vector& w, Workspace& ws) const;

  std::vector<Eigen::Index> sizes_;
  std::vector<Layer> layers_;
  Eigen::Index dim_ = 0;
};

}  // namespace dmlsim
