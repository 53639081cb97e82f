// Softmax regression and the MLP: gradients against finite differences, FLOP formulas, and
// learning on a small separable problem.
#include "model/logistic.hpp"
#include "model/mlp.hpp"
#include "model/softmax.hpp"
#include "util/rng.hpp"

#include <gtest/gtest.h>

using namespace dmlsim;

namespace {

Dataset blobs(int n, int d, int classes, std::uint64_t key) {
  Rng rng(key);
  Dataset data;
  data.features = Matrix(n, d);
  data.labels = Vector(n);
  data.classes = classes;
  for (int i = 0; i < n; ++i) {
    const int c = i % classes;
    data.labels(i) = c;
    for (int j = 0; j < d; ++j) data.features(i, j) = rng.uniform(-1, 1) + (j % classes == c ? 2.0 : 0.0);
  }
  return data;
}

double mean_loss(const Model& model, const Matrix& X, const Vector& y, const Vector& w) {
  auto ws = model.make_workspace(X.rows());
  double correct = 0, loss = 0;
  model.score(X, y, w, correct, loss, *ws);
  return loss / static_cast<double>(X.rows());
}

void expect_gradient_matches_finite_differences(const Model& model, const Dataset& data, std::uint64_t key) {
  const Vector w = model.initial_parameters({InitRule::Uniform, 0}, key) * 0.5;
  auto ws = model.make_workspace(data.rows());
  Vector grad(model.dim());
  model.gradient(data.features, data.labels, w, grad, *ws);
  const double h = 1e-6;
  for (Eigen::Index i = 0; i < model.dim(); ++i) {
    Vector plus = w, minus = w;
    plus(i) += h;
    minus(i) -= h;
    const double numeric =
        (mean_loss(model, data.features, data.labels, plus) - mean_loss(model, data.features, data.labels, minus)) / (2 * h);
    ASSERT_NEAR(grad(i), numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << model.describe() << " parameter " << i;
  }
}

}  // namespace

TEST(Logistic, GradientMatchesFiniteDifferences) {
  const auto data = blobs(40, 5, 2, 3);
  expect_gradient_matches_finite_differences(LogisticRegression(5), data, 11);
}

TEST(Softmax, GradientMatchesFiniteDifferences) {
  const auto data = blobs(30, 4, 3, 1);
  expect_gradient_matches_finite_differences(SoftmaxRegression(4, 3), data, 2);
}

TEST(Mlp, GradientMatchesFiniteDifferences) {
  const auto data = blobs(25, 5, 3, 3);
  expect_gradient_matches_finite_differences(Mlp({5, 7, 4, 3}), data, 4);
}

TEST(Mlp, ParameterCountAndFlops) {
  const Mlp mlp({784, 128, 10});
  EXPECT_EQ(mlp.dim(), 784 * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ(mlp.prediction_flops_per_sample(), 2.0 * (784 * 128 + 128 * 10));
  // forward 2ΣP + weight gradients 2ΣP + input gradient of the second layer only.
  EXPECT_EQ(mlp.gradient_flops_per_sample(), 4.0 * (784 * 128 + 128 * 10) + 2.0 * 128 * 10);
  const SoftmaxRegression softmax(785, 10);
  EXPECT_EQ(softmax.dim(), 7850);
  EXPECT_EQ(softmax.gradient_flops_per_sample(), 4.0 * 7850);
}

TEST(Mlp, GlorotInitialisationIsScaledPerLayerWithZeroBiases) {
  const Mlp mlp({100, 50, 10});
  const Vector w = mlp.initial_parameters({InitRule::Glorot, 0}, 7);
  const double limit1 = std::sqrt(6.0 / 150.0);
  EXPECT_LE(w.head(5000).cwiseAbs().maxCoeff(), limit1);
  EXPECT_GT(w.head(5000).cwiseAbs().maxCoeff(), 0.9 * limit1);
  EXPECT_EQ(w.segment(5000, 50).cwiseAbs().maxCoeff(), 0.0);
}

TEST(Models, GradientDescentLearnsSeparableBlobs) {
  const auto data = blobs(300, 6, 3, 5);
  for (const Model* model : std::initializer_list<const Model*>{new SoftmaxRegression(6, 3), new Mlp({6, 16, 3})}) {
    std::unique_ptr<const Model> owner(model);
    Vector w = model->initial_parameters({InitRule::Glorot, 0}, 9);
    auto ws = model->make_workspace(data.rows());
    Vector grad(model->dim());
    for (int step = 0; step < 200; ++step) {
      model->gradient(data.features, data.labels, w, grad, *ws);
      w -= 0.5 * grad;
    }
    EXPECT_GT(evaluate(*model, data, w).accuracy, 0.95) << model->describe();
  }
}

TEST(Evaluate, ChunkedEvaluationEqualsOnePass) {
  const auto data = blobs(5000, 3, 2, 8);
  const SoftmaxRegression model(3, 2);
  const Vector w = model.initial_parameters({InitRule::Uniform, 0}, 3);
  const auto chunked = evaluate(model, data, w);
  EXPECT_NEAR(chunked.loss, mean_loss(model, data.features, data.labels, w), 1e-12);
  const auto head = evaluate(model, data, w, 100);
  EXPECT_NEAR(head.loss, mean_loss(model, data.features.topRows(100), data.labels.head(100), w), 1e-12);
}

TEST(Float32, StorageGivesTheSameBatchesUpToRounding) {
  auto data = blobs(50, 4, 2, 9);
  const Dataset original = data;
  data.use_float32();
  EXPECT_TRUE(data.is_float32());
  EXPECT_EQ(data.features.size(), 0);
  Matrix X(3, 4);
  Vector y(3);
  data.gather({4, 0, 49}, X, y);
  EXPECT_NEAR((X.row(0) - original.features.row(4)).norm(), 0.0, 1e-6);
  EXPECT_EQ(y(2), original.labels(49));
}
