#include "model/batch.hpp"
#include "model/init.hpp"
#include "model/logistic.hpp"

#include <gtest/gtest.h>
#include <set>

using namespace dmlsim;

namespace {

Dataset random_dataset(int n, int d, std::uint64_t key) {
  Rng rng(key);
  Dataset data;
  data.features = Matrix(n, d + 1);
  data.labels = Vector(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) data.features(i, j) = rng.uniform(-2, 2);
    data.features(i, d) = 1.0;
    data.labels(i) = rng.uniform() < 0.5 ? 0.0 : 1.0;
  }
  return data;
}

}  // namespace

TEST(Logistic, StableSigmoidAndSoftplus) {
  EXPECT_DOUBLE_EQ(sigmoid(0), 0.5);
  EXPECT_EQ(sigmoid(-1000), 0.0);
  EXPECT_EQ(sigmoid(1000), 1.0);
  EXPECT_NEAR(softplus(-1000), 0.0, 1e-300);
  EXPECT_DOUBLE_EQ(softplus(1000), 1000.0);
  EXPECT_NEAR(softplus(0), std::log(2.0), 1e-15);
}

TEST(Logistic, EmptyBatchGivesZeroGradient) {
  const auto data = random_dataset(5, 2, 1);
  LogisticRegression model(data.cols());
  Vector grad = Vector::Constant(model.dim(), 3.0);
  auto ws = model.make_workspace(1);
  model.gradient(data.features.topRows(0), data.labels.head(0), Vector::Ones(model.dim()), grad, *ws);
  EXPECT_EQ(grad, Vector::Zero(model.dim()));
}

TEST(Logistic, AccuracyAndLossOnKnownPoints) {
  Dataset data;
  data.features = Matrix(3, 2);
  data.features << 1, 1, -1, 1, 2, 1;
  data.labels = Vector(3);
  data.labels << 1, 0, 0;
  LogisticRegression model(2);
  Vector w(2);
  w << 1, 0;  // z = x0: predicts 1, 0, 1
  const auto e = evaluate(model, data, w);
  EXPECT_DOUBLE_EQ(e.accuracy, 2.0 / 3.0);
  EXPECT_NEAR(e.loss, (softplus(1) - 1 + softplus(-1) + softplus(2)) / 3, 1e-15);
  EXPECT_EQ(model.gradient_flops_per_sample(), 8.0);
  EXPECT_EQ(model.prediction_flops_per_sample(), 4.0);
}

TEST(Batch, BernoulliFractionFixedAndFull) {
  std::vector<int> partition(1000);
  for (int i = 0; i < 1000; ++i) partition[static_cast<std::size_t>(i)] = i + 5000;
  BatchSampler bernoulli({BatchRule::Bernoulli, 0.1, 0, false}, partition);
  Rng rng(5);
  double total = 0;
  for (int i = 0; i < 200; ++i) total += static_cast<double>(bernoulli.draw(rng).size());
  EXPECT_NEAR(total / 200, 100.0, 3.0);

  BatchSampler fixed({BatchRule::Fixed, 0, 32, false}, partition);
  const auto& batch = fixed.draw(rng);
  EXPECT_EQ(batch.size(), 32u);
  EXPECT_EQ(std::set<int>(batch.begin(), batch.end()).size(), 32u);  // without replacement
  for (int row : batch) EXPECT_GE(row, 5000);

  BatchSampler full({BatchRule::Full, 0, 0, false}, partition);
  EXPECT_EQ(full.draw(rng), partition);
}

TEST(Batch, SameGeneratorStateSameBatch) {
  std::vector<int> partition(50);
  for (int i = 0; i < 50; ++i) partition[static_cast<std::size_t>(i)] = i;
  BatchSampler a({BatchRule::Fixed, 0, 10, false}, partition);
  BatchSampler b({BatchRule::Fixed, 0, 10, false}, partition);
  Rng r1(9), r2(9), r3(9);
  a.draw(r3);  // an earlier draw must not influence the next one
  EXPECT_EQ(a.draw(r1), b.draw(r2));
}

TEST(Init, Rules) {
  EXPECT_EQ(initial_parameters({InitRule::Zeros, 0}, 3, 1), Vector::Zero(3));
  EXPECT_EQ(initial_parameters({InitRule::Constant, 0.5}, 3, 1), Vector::Constant(3, 0.5));
  const Vector u = initial_parameters({InitRule::Uniform, 0}, 1000, 1);
  EXPECT_GE(u.minCoeff(), -1.0);
  EXPECT_LT(u.maxCoeff(), 1.0);
  EXPECT_EQ(u, initial_parameters({InitRule::Uniform, 0}, 1000, 1));
}
