// Multinomial (softmax) regression: C classes, parameters W (C × D, row c = class c's weights,
// flattened row by row), on a design matrix whose last column is the bias.
// Loss: cross-entropy of softmax(W x), computed with the max subtracted (no overflow).
// FLOPs per sample, D inputs (with bias), C classes:
//   gradient: 4·C·D — logits W x (2·C·D), weight gradient (p - y) xᵀ accumulated (2·C·D);
//   prediction: 2·C·D. The softmax itself (about 3·C) is not counted.
#pragma once

#include "model/model.hpp"

namespace dmlsim {

class SoftmaxRegression final : public Model {
 public:
  SoftmaxRegression(Eigen::Index inputs, int classes) : inputs_(inputs), classes_(classes) {}
  std::string name() const override { return "softmax"; }
  std::string describe() const override;
  Eigen::Index dim() const override { return inputs_ * classes_; }
  std::unique_ptr<Workspace> make_workspace(Eigen::Index max_rows) const override;
  void gradient(const ConstRows& X, const ConstLabels& y, const Vector& w, Vector& grad, Workspace& ws) const override;
  void score(const ConstRows& X, const ConstLabels& y, const Vector& w, double& correct, double& loss,
             Workspace& ws) const override;
  double gradient_flops_per_sample() const override { return 4.0 * static_cast<double>(dim()); }
  double prediction_flops_per_sample() const override { return 2.0 * static_cast<double>(dim()); }

 private:
  Eigen::Index inputs_;
  int classes_;
};

// Row-wise softmax of logits in place; returns nothing. Shared with the MLP.
void softmax_rows(Eigen::Ref<Matrix> logits);
// Cross-entropy of softmax(logits) for `label`, computed from the logits for stability.
double cross_entropy(const Eigen::Ref<const Eigen::RowVectorXd>& logits, int label);
// Adds the correct arg-max predictions and the summed cross-entropy of a block of logits.
void score_logits(const Eigen::Ref<const Matrix>& logits, const ConstLabels& y, double& correct, double& loss);

}  // namespace dmlsim
