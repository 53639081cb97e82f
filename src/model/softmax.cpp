#include "model/softmax.hpp"

#include <cmath>
#include <fmt/format.h>

namespace dmlsim {

namespace {
using RowMajorMap = Eigen::Map<const Matrix>;
using MutableRowMajorMap = Eigen::Map<Matrix>;

struct SoftmaxWorkspace : Workspace {
  Matrix logits;
};
}  // namespace

void softmax_rows(Eigen::Ref<Matrix> logits) {
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    auto row = logits.row(i);
    row.array() -= row.maxCoeff();
    row = row.array().exp().matrix();
    row /= row.sum();
  }
}

double cross_entropy(const Eigen::Ref<const Eigen::RowVectorXd>& logits, int label) {
  const double top = logits.maxCoeff();
  return top + std::log((logits.array() - top).exp().sum()) - logits(label);
}

void score_logits(const Eigen::Ref<const Matrix>& logits, const ConstLabels& y, double& correct, double& loss) {
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    const int label = static_cast<int>(y(i));
    Eigen::Index predicted = 0;
    logits.row(i).maxCoeff(&predicted);
    correct += predicted == label;
    loss += cross_entropy(logits.row(i), label);
  }
}

std::string SoftmaxRegression::describe() const {
  return fmt::format("softmax {} inputs x {} classes", inputs_, classes_);
}

std::unique_ptr<Workspace> SoftmaxRegression::make_workspace(Eigen::Index max_rows) const {
  auto ws = std::make_unique<SoftmaxWorkspace>();
  ws->logits.resize(max_rows, classes_);
  return ws;
}

void SoftmaxRegression::gradient(const ConstRows& X, const ConstLabels& y, const Vector& w, Vector& grad,
                                 Workspace& workspace) const {
  grad.setZero();
  const Eigen::Index n = X.rows();
  if (n == 0) return;
  auto& logits = static_cast<SoftmaxWorkspace&>(workspace).logits;
  const RowMajorMap W(w.data(), classes_, inputs_);
  auto P = logits.topRows(n);
  P.noalias() = X * W.transpose();
  softmax_rows(P);
  for (Eigen::Index i = 0; i < n; ++i) P(i, static_cast<Eigen::Index>(y(i))) -= 1.0;
  MutableRowMajorMap G(grad.data(), classes_, inputs_);
  G.noalias() = P.transpose() * X;
  grad /= static_cast<double>(n);
}

void SoftmaxRegression::score(const ConstRows& X, const ConstLabels& y, const Vector& w, double& correct,
                              double& loss, Workspace& workspace) const {
  auto& logits = static_cast<SoftmaxWorkspace&>(workspace).logits;
  const RowMajorMap W(w.data(), classes_, inputs_);
  auto Z = logits.topRows(X.rows());
  Z.noalias() = X * W.transpose();
  score_logits(Z, y, correct, loss);
}

}  // namespace dmlsim
