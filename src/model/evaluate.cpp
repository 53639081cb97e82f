#include "model/model.hpp"

#include <algorithm>

namespace dmlsim {

Evaluation evaluate(const Model& model, const Dataset& data, const Vector& w, Eigen::Index max_rows) {
  const Eigen::Index n = max_rows > 0 ? std::min(max_rows, data.rows()) : data.rows();
  const Eigen::Index chunk = std::min<Eigen::Index>(n, 2048);
  Matrix X(chunk, data.cols());
  Vector y(chunk);
  auto ws = model.make_workspace(chunk);
  double correct = 0, loss = 0;
  for (Eigen::Index begin = 0; begin < n; begin += chunk) {
    const Eigen::Index count = std::min(chunk, n - begin);
    data.gather_range(begin, count, X, y);
    model.score(X.topRows(count), y.head(count), w, correct, loss, *ws);
  }
  return {correct / static_cast<double>(n), loss / static_cast<double>(n)};
}

}  // namespace dmlsim
