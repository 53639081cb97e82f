// Binary logistic regression on a design matrix whose last column is the bias (constant 1).
//
// Loss per sample: log(1 + exp(-z)) if y = 1, log(1 + exp(z)) if y = 0, with z = x·w, computed
// stably as softplus(z) - y·z. Gradient per sample: (sigmoid(z) - y) · x, the seed's
// -(y - logistic(x, w)) · x; the batch gradient is the mean over the batch, as in the seed.
// (The seed's sigmoid adds 1e-6 to the denominator; this one is the exact, overflow-free sigmoid.)
//
// FLOPs, with D = dim() (features + bias):
//   gradient: 4·D per sample — dot product x·w (2·D), scale-and-add into the sum (2·D);
//   prediction: 2·D per sample — the dot product. Sigmoid/log costs are O(1) and not counted.
#pragma once

#include "model/model.hpp"

namespace dmlsim {

double sigmoid(double z);
double softplus(double z);

class LogisticRegression final : public Model {
 public:
  explicit LogisticRegression(Eigen::Index dim) : dim_(dim) {}
  std::string name() const override { return "logistic"; }
  std::string describe() const override;
  Eigen::Index dim() const override { return dim_; }
  std::unique_ptr<Workspace> make_workspace(Eigen::Index) const override { return std::make_unique<Workspace>(); }
  void gradient(const ConstRows& X, const ConstLabels& y, const Vector& w, Vector& grad, Workspace& ws) const override;
  void score(const ConstRows& X, const ConstLabels& y, const Vector& w, double& correct, double& loss,
             Workspace& ws) const override;
  double gradient_flops_per_sample() const override { return 4.0 * static_cast<double>(dim_); }
  double prediction_flops_per_sample() const override { return 2.0 * static_cast<double>(dim_); }

 private:
  Eigen::Index dim_;
};

}  // namespace dmlsim
