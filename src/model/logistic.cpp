#include "model/logistic.hpp"

#include <cmath>
#include <fmt/format.h>

namespace dmlsim {

double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

double softplus(double z) { return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))); }

std::string LogisticRegression::describe() const { return fmt::format("logistic {} parameters", dim_); }

void LogisticRegression::gradient(const ConstRows& X, const ConstLabels& y, const Vector& w, Vector& grad,
                                  Workspace&) const {
  grad.setZero();
  if (X.rows() == 0) return;
  for (Eigen::Index r = 0; r < X.rows(); ++r) {
    const auto x = X.row(r);
    grad.noalias() += (sigmoid(x.dot(w)) - y(r)) * x.transpose();
  }
  grad /= static_cast<double>(X.rows());
}

void LogisticRegression::score(const ConstRows& X, const ConstLabels& y, const Vector& w, double& correct,
                               double& loss, Workspace&) const {
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    const double z = X.row(i).dot(w);
    loss += softplus(z) - y(i) * z;
    correct += ((z >= 0) ? 1.0 : 0.0) == y(i);
  }
}

}  // namespace dmlsim
