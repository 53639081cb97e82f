#include "model/logistic.hpp"

#include <cmath>

namespace dmlsim {

double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

double softplus(double z) { return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))); }

void LogisticRegression::gradient(const Dataset& data, const std::vector<int>& rows, const Vector& w,
                                  Vector& grad) const {
  grad.setZero();
  if (rows.empty()) return;
  for (int r : rows) {
    const auto x = data.features.row(r);
    const double z = x.dot(w);
    grad.noalias() += (sigmoid(z) - data.labels(r)) * x.transpose();
  }
  grad /= static_cast<double>(rows.size());
}

Evaluation LogisticRegression::evaluate(const Dataset& data, const Vector& w) const {
  const Vector z = data.features * w;
  double loss = 0;
  int correct = 0;
  for (Eigen::Index i = 0; i < z.size(); ++i) {
    const double y = data.labels(i);
    loss += softplus(z(i)) - y * z(i);
    correct += ((z(i) >= 0) ? 1.0 : 0.0) == y;
  }
  const auto n = static_cast<double>(z.size());
  return {correct / n, loss / n};
}

}  // namespace dmlsim
