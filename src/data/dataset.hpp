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
using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

// A data set held once in memory. Features are float64 while loading and preprocessing, and can be
// moved to float32 storage (`use_float32`) to halve the memory of large sets; models never touch
// the storage directly but `gather` the rows of a batch into a float64 buffer they own.
struct Dataset {
  Matrix features;                         // n × d (empty once moved to float32)
  MatrixF features_f32;                    // n × d when stored as float32
  Vector labels;                           // n class indices 0 … classes-1
  int classes = 2;
  std::vector<std::string> feature_names;  // d names (the bias column is named "bias")

  Eigen::Index rows() const { return labels.size(); }
  Eigen::Index cols() const { return is_float32() ? features_f32.cols() : features.cols(); }
  bool is_float32() const { return features_f32.size() > 0; }
  void use_float32();
  // Copies rows[i] into row i of X and its label into y(i); X and y must have at least
  // rows.size() rows (buffers are reused across calls: no allocation here).
  void gather(const std::vector<int>& rows, Matrix& X, Vector& y) const;
  // The same for the contiguous rows [begin, begin + count).
  void gather_range(Eigen::Index begin, Eigen::Index count, Matrix& X, Vector& y) const;
  // Rows per class.
  std::vector<long> class_counts() const;
};

// Reads a CSV file with a header row. `label` selects the label column: a header name, a 1-based
// column number, or "last". Labels must be non-negative integers (class indices); the number of
// classes is the largest label + 1. Throws DataError naming file and line.
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

// Keeps the first `count` rows (all if count is 0 or larger than the set).
void truncate_rows(Dataset& data, Eigen::Index count);

}  // namespace dmlsim
