// Tabular data: loading, train/test split, standardisation and partitioning over workers.
// Pure code (no SimGrid). Rows are samples; matrices are row-major so one sample is contiguous.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dmlsim {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

struct Dataset {
  Matrix features;                         // n × d
  Vector labels;                           // n, values 0 or 1
  std::vector<std::string> feature_names;  // d names (the bias column is named "bias")

  Eigen::Index rows() const { return features.rows(); }
  Eigen::Index cols() const { return features.cols(); }
};

// Reads a CSV file with a header row. `label` selects the label column: a header name, a 1-based
// column number, or "last". Labels must be 0 or 1. Throws DataError naming file and line.
Dataset load_csv(const std::filesystem::path& file, const std::string& label);

struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TrainTest {
  Dataset train;
  Dataset test;
};

// Shuffles the row order with the given key and puts ceil(test_fraction · n) rows in the test set
// (sklearn's rounding), the rest in the training set, each in permutation order.
TrainTest split_random(const Dataset& all, double test_fraction, std::uint64_t key);

// Per-feature mean and population standard deviation of `train` (sklearn's StandardScaler).
struct Standardizer {
  Vector mean;
  Vector scale;  // 1 where a feature is constant, so it is only centred
  static Standardizer fit(const Dataset& train);
  void apply(Dataset& data) const;
};

// Appends a constant-1 column (the model's bias term), as the seed does before training.
void add_bias_column(Dataset& data);

enum class PartitionScheme { Contiguous, Shuffled };

// Row indices of each of `workers` partitions of `n` rows. Contiguous is Spark's parallelize:
// worker k gets rows [k·n/K, (k+1)·n/K). Shuffled permutes the rows with `key` first.
std::vector<std::vector<int>> partition_rows(int n, int workers, PartitionScheme scheme, std::uint64_t key);

}  // namespace dmlsim
