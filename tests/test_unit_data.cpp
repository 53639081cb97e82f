#include "data/dataset.hpp"
#include "data/partition.hpp"
#include "test_util.hpp"
#include "util/rng.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <numeric>

using namespace dmlsim;
using dmlsim::testutil::TempDir;
using dmlsim::testutil::write_text;

TEST(Csv, LoadsTheShippedSeedSplit) {
  const auto train = load_csv(testutil::source_dir() / "data/breast_cancer_seed_train.csv", "target");
  const auto test = load_csv(testutil::source_dir() / "data/breast_cancer_seed_test.csv", "last");
  EXPECT_EQ(train.rows(), 398);
  EXPECT_EQ(test.rows(), 171);
  EXPECT_EQ(train.cols(), 30);
  EXPECT_EQ(train.feature_names.front(), "mean_radius");
  EXPECT_DOUBLE_EQ(train.features(0, 0), 11.49);
  const auto all = load_csv(testutil::source_dir() / "data/breast_cancer.csv", "31");
  EXPECT_EQ(all.rows(), 569);
  EXPECT_EQ(all.labels.sum(), 357);  // benign
}

TEST(Csv, LabelByNameOrPosition) {
  TempDir dir;
  write_text(dir / "d.csv", "y,a,b\n1,2,3\n0,5,6\n");
  const auto by_name = load_csv(dir / "d.csv", "y");
  const auto by_position = load_csv(dir / "d.csv", "1");
  EXPECT_EQ(by_name.features, by_position.features);
  EXPECT_EQ(by_name.labels(0), 1);
  EXPECT_EQ(by_name.feature_names, (std::vector<std::string>{"a", "b"}));
}

TEST(Csv, MalformedFilesNameFileAndLine) {
  TempDir dir;
  auto expect_error = [&](const std::string& content, const std::string& label, const std::string& needle) {
    write_text(dir / "bad.csv", content);
    try {
      load_csv(dir / "bad.csv", label);
      FAIL() << "no error for " << needle;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("a,b,y\n1,2,1\n3,4\n", "y", "bad.csv:3: 2 columns");
  expect_error("a,b,y\n1,x,1\n", "y", "bad.csv:2: column 'b': 'x' is not a finite number");
  expect_error("a,b,y\n1,2,1.5\n", "y", "bad.csv:2: label 'y' is '1.5': the label column is 'y'. Labels must be class indices");
  expect_error("a,b,y\n1,2,-1\n", "y", "bad.csv:2: label 'y' is '-1'");
  expect_error("a,b,y\n1,2,1\n", "z", "no column named 'z'");
  expect_error("a,b,y\n1,2,1\n", "9", "out of range");
  expect_error("", "y", "bad.csv:1: the file is empty");
  expect_error("a,b,y\n", "y", "no data rows");
  EXPECT_THROW(load_csv(dir / "missing.csv", "y"), DataError);
}

TEST(Split, SizesFollowSklearnRoundingAndSeedDecides) {
  Dataset all;
  all.features = Matrix::Zero(10, 1);
  all.labels = Vector::Zero(10);
  for (int i = 0; i < 10; ++i) all.features(i, 0) = i;
  const auto a = split_random(all, 0.3, 1);
  const auto b = split_random(all, 0.3, 1);
  const auto c = split_random(all, 0.3, 2);
  EXPECT_EQ(a.test.rows(), 3);
  EXPECT_EQ(a.train.rows(), 7);
  EXPECT_EQ(a.test.features, b.test.features);
  EXPECT_NE(a.test.features, c.test.features);
  // Every row lands in exactly one side.
  double total = a.train.features.sum() + a.test.features.sum();
  EXPECT_EQ(total, 45.0);
}

TEST(Standardizer, UsesTrainingStatisticsOnly) {
  Dataset train, test;
  train.features = Matrix(4, 2);
  train.features << 1, 5, 2, 5, 3, 5, 4, 5;  // second column constant
  test.features = Matrix(1, 2);
  test.features << 5, 7;
  const auto s = Standardizer::fit(train);
  s.apply(train);
  s.apply(test);
  EXPECT_NEAR(train.features.col(0).mean(), 0.0, 1e-15);
  EXPECT_NEAR(train.features.col(0).squaredNorm() / 4, 1.0, 1e-12);  // population variance
  EXPECT_DOUBLE_EQ(train.features(0, 1), 0.0);                        // constant: centred only
  EXPECT_NEAR(test.features(0, 0), (5 - 2.5) / std::sqrt(1.25), 1e-12);
  EXPECT_DOUBLE_EQ(test.features(0, 1), 2.0);
}

TEST(Partition, ContiguousIsSparkParallelize) {
  const auto parts = partition_rows(398, 4, PartitionScheme::Contiguous, 0);
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0].front(), 0);
  EXPECT_EQ(parts[0].size(), 99u);  // [0, 99)
  EXPECT_EQ(parts[1].front(), 99);
  EXPECT_EQ(parts[1].size(), 100u);  // [99, 199)
  EXPECT_EQ(parts[2].front(), 199);
  EXPECT_EQ(parts[3].back(), 397);
}

TEST(Partition, ShuffledCoversEveryRowOnce) {
  const auto parts = partition_rows(103, 5, PartitionScheme::Shuffled, 9);
  std::vector<int> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  std::sort(all.begin(), all.end());
  std::vector<int> expected(103);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected);
  EXPECT_NE(parts[0], partition_rows(103, 5, PartitionScheme::Contiguous, 9)[0]);
}

TEST(Bias, AppendsOnesColumn) {
  Dataset d;
  d.features = Matrix::Constant(2, 3, 7.0);
  d.labels = Vector::Zero(2);
  d.feature_names = {"a", "b", "c"};
  add_bias_column(d);
  EXPECT_EQ(d.cols(), 4);
  EXPECT_EQ(d.features.cols(), 3);  // the bias column is produced by gather, not stored
  Matrix X = Matrix::Zero(2, 4);
  Vector y(2);
  d.gather({1, 0}, X, y);
  EXPECT_EQ(X(1, 3), 1.0);
  EXPECT_EQ(X(1, 2), 7.0);
  X.setZero();
  d.gather_range(0, 2, X, y);
  EXPECT_EQ(X.col(3), Vector::Ones(2));
  EXPECT_EQ(d.feature_names.back(), "bias");
}

// The float32 storage is parsed straight from the file; it must hold exactly what a float64 load
// cast to float holds, and a standardised float32 set exactly what the float64 pipeline gives when
// the values are representable in float32 (multiples of 1/64 here).
namespace {

Dataset loaded_as_float64_then_cast(Dataset data) {
  data.use_float32();
  return data;
}

void expect_same_float32(const Dataset& direct, const Dataset& cast) {
  ASSERT_TRUE(direct.is_float32());
  EXPECT_EQ(direct.features.size(), 0);
  EXPECT_TRUE(direct.features_f32 == cast.features_f32);
  EXPECT_EQ(direct.labels, cast.labels);
  EXPECT_EQ(direct.classes, cast.classes);
  EXPECT_EQ(direct.feature_names, cast.feature_names);
}

}  // namespace

TEST(Float32Storage, CsvParsesStraightIntoFloatAsACastWould) {
  const auto file = testutil::source_dir() / "data/breast_cancer.csv";
  expect_same_float32(load_csv(file, "31", Storage::Float32), loaded_as_float64_then_cast(load_csv(file, "31")));
  TempDir dir;
  write_text(dir / "blank.csv", "a,y\n\n0.1,1\n  \n0.3,0\n");  // blank lines are dropped
  const auto blank = load_csv(dir / "blank.csv", "y", Storage::Float32);
  EXPECT_EQ(blank.rows(), 2);
  EXPECT_EQ(blank.features_f32(1, 0), 0.3f);
}

TEST(Float32Storage, StandardisedAndSplitRepresentableDataIsBitIdenticalToTheFloat64Pipeline) {
  TempDir dir;
  std::string csv = "a,b,c,y\n";
  for (int i = 0; i < 203; ++i) csv += fmt::format("{},{},{},{}\n", (i * 37 % 101) / 64.0, 3.0, (i * i % 53) / 8.0 - 2, i % 2);
  write_text(dir / "d.csv", csv);
  const auto pipeline = [&](Storage storage) {
    auto data = split_random(load_csv(dir / "d.csv", "y", storage), 0.3, 7);
    const auto scaler = Standardizer::fit(data.train);
    scaler.apply(data.train);
    scaler.apply(data.test);
    add_bias_column(data.train);
    return data;
  };
  auto as_float64 = pipeline(Storage::Float64);
  const auto as_float32 = pipeline(Storage::Float32);
  expect_same_float32(as_float32.train, loaded_as_float64_then_cast(as_float64.train));
  expect_same_float32(as_float32.test, loaded_as_float64_then_cast(as_float64.test));
  EXPECT_EQ(as_float32.train.cols(), 4);
}

TEST(Standardizer, ColumnBlocksGiveTheWholeMatrixResultBitForBit) {
  for (Eigen::Index d : {1, 2, 3, 15, 16, 17, 33, 100}) {
    for (Eigen::Index n : {1, 2, 5, 7, 64, 1001}) {
      Dataset data;
      data.features = Matrix::Random(n, d) * 100.0;
      data.labels = Vector::Zero(n);
      // The whole-matrix formulas the block-wise fit replaces.
      const Vector mean = data.features.colwise().mean().transpose();
      const Matrix centred = data.features.rowwise() - mean.transpose();
      Vector scale = (centred.array().square().colwise().sum() / static_cast<double>(n)).sqrt().transpose();
      for (auto& v : scale) v = (v > 0.0) ? v : 1.0;
      const auto fitted = Standardizer::fit(data);
      EXPECT_TRUE(fitted.mean == mean) << n << " x " << d;
      EXPECT_TRUE(fitted.scale == scale) << n << " x " << d;
    }
  }
}

TEST(Split, MovesTheTrainingRowsInPlaceInPermutationOrder) {
  Dataset all;
  all.allocate(50, 2, Storage::Float32);
  for (int i = 0; i < 50; ++i) {
    all.set(i, 0, i);
    all.set(i, 1, -i);
    all.labels(i) = i % 3;
  }
  const auto order = random_permutation(50, 5);
  const auto split = split_random(all, 0.2, 5);
  ASSERT_EQ(split.test.rows(), 10);
  ASSERT_EQ(split.train.rows(), 40);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(split.train.features_f32(i, 0), static_cast<float>(order[static_cast<std::size_t>(10 + i)]));
    EXPECT_EQ(split.train.features_f32(i, 1), -static_cast<float>(order[static_cast<std::size_t>(10 + i)]));
    EXPECT_EQ(split.train.labels(i), order[static_cast<std::size_t>(10 + i)] % 3);
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(split.test.features_f32(i, 0), static_cast<float>(order[static_cast<std::size_t>(i)]));
}
