#include "model/mlp.hpp"

#include "model/softmax.hpp"
#include "util/rng.hpp"

#include <cmath>
#include <fmt/format.h>

namespace dmlsim {

namespace {

using RowMajorMap = Eigen::Map<const Matrix>;
using MutableRowMajorMap = Eigen::Map<Matrix>;

struct MlpWorkspace : Workspace {
  std::vector<Matrix> activations;  // activations[l] = output of layer l (ReLU applied, logits last)
  std::vector<Matrix> deltas;       // gradient of the loss with respect to each layer's pre-activation
};

}  // namespace

Mlp::Mlp(std::vector<Eigen::Index> sizes) : sizes_(std::move(sizes)) {
  for (std::size_t l = 0; l + 1 < sizes_.size(); ++l) {
    const Layer layer{sizes_[l], sizes_[l + 1], dim_, dim_ + sizes_[l] * sizes_[l + 1]};
    dim_ = layer.bias_offset + layer.out;
    layers_.push_back(layer);
  }
}

std::string Mlp::describe() const { return fmt::format("mlp {} ({} parameters)", fmt::join(sizes_, "-"), dim_); }

std::unique_ptr<Workspace> Mlp::make_workspace(Eigen::Index max_rows) const {
  auto ws = std::make_unique<MlpWorkspace>();
  for (const auto& layer : layers_) {
    ws->activations.emplace_back(max_rows, layer.out);
    ws->deltas.emplace_back(max_rows, layer.out);
  }
  return ws;
}

void Mlp::forward(const ConstRows& X, const Vector& w, Workspace& workspace) const {
  auto& ws = static_cast<MlpWorkspace&>(workspace);
  const Eigen::Index n = X.rows();
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const auto& layer = layers_[l];
    const RowMajorMap W(w.data() + layer.weights_offset, layer.out, layer.in);
    const auto b = w.segment(layer.bias_offset, layer.out).transpose();
    auto A = ws.activations[l].topRows(n);
    if (l == 0) A.noalias() = X * W.transpose();
    else A.noalias() = ws.activations[l - 1].topRows(n) * W.transpose();
    A.rowwise() += b;
    if (l + 1 < layers_.size()) A = A.cwiseMax(0.0);
  }
}

void Mlp::gradient(const ConstRows& X, const ConstLabels& y, const Vector& w, Vector& grad, Workspace& workspace) const {
  grad.setZero();
  const Eigen::Index n = X.rows();
  if (n == 0) return;
  auto& ws = static_cast<MlpWorkspace&>(workspace);
  forward(X, w, workspace);
  const std::size_t last = layers_.size() - 1;
  auto delta = ws.deltas[last].topRows(n);
  delta = ws.activations[last].topRows(n);
  softmax_rows(delta);
  for (Eigen::Index i = 0; i < n; ++i) delta(i, static_cast<Eigen::Index>(y(i))) -= 1.0;
  delta /= static_cast<double>(n);
  for (std::size_t l = layers_.size(); l-- > 0;) {
    const auto& layer = layers_[l];
    const auto d = ws.deltas[l].topRows(n);
    MutableRowMajorMap dW(grad.data() + layer.weights_offset, layer.out, layer.in);
    if (l == 0) dW.noalias() = d.transpose() * X;
    else dW.noalias() = d.transpose() * ws.activations[l - 1].topRows(n);
    grad.segment(layer.bias_offset, layer.out) = d.colwise().sum().transpose();
    if (l == 0) break;
    // Back through the weights, then through the ReLU of the layer below.
    const RowMajorMap W(w.data() + layer.weights_offset, layer.out, layer.in);
    auto below = ws.deltas[l - 1].topRows(n);
    below.noalias() = d * W;
    below = (ws.activations[l - 1].topRows(n).array() > 0.0).select(below, 0.0);
  }
}

void Mlp::score(const ConstRows& X, const ConstLabels& y, const Vector& w, double& correct, double& loss,
                Workspace& workspace) const {
  forward(X, w, workspace);
  score_logits(static_cast<MlpWorkspace&>(workspace).activations.back().topRows(X.rows()), y, correct, loss);
}

double Mlp::prediction_flops_per_sample() const {
  double flops = 0;
  for (const auto& layer : layers_) flops += 2.0 * static_cast<double>(layer.in * layer.out);
  return flops;
}

double Mlp::gradient_flops_per_sample() const {
  double flops = 2.0 * prediction_flops_per_sample();
  for (std::size_t l = 1; l < layers_.size(); ++l) flops += 2.0 * static_cast<double>(layers_[l].in * layers_[l].out);
  return flops;
}

Vector Mlp::initial_parameters(const InitSpec& spec, std::uint64_t key) const {
  if (spec.rule != InitRule::Glorot) return dmlsim::initial_parameters(spec, dim_, key);
  Vector w = Vector::Zero(dim_);
  Rng rng(key);
  for (const auto& layer : layers_) {
    const double limit = std::sqrt(6.0 / static_cast<double>(layer.in + layer.out));
    for (Eigen::Index i = 0; i < layer.in * layer.out; ++i) w(layer.weights_offset + i) = rng.uniform(-limit, limit);
  }
  return w;
}

}  // namespace dmlsim
