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

// Precision of the stored features. The loaders parse straight into it, so a float32 set is never
// held as float64 (a value is rounded to float exactly as a float64 copy cast to float would be).
enum class Storage { Float64, Float32 };

// A data set held once in memory, as float64 or float32 (half the memory of large sets); models
// never touch the storage directly but `gather` the rows of a batch into a float64 buffer they own.
// The bias column of linear models is not stored: `gather` appends it, so adding it copies nothing.
struct Dataset {
  Matrix features;                         // n × stored_cols() when stored as float64
  MatrixF features_f32;                    // n × stored_cols() when stored as float32
  Vector labels;                           // n class indices 0 … classes-1
  int classes = 2;
  std::vector<std::string> feature_names;  // cols() names (the bias column is named "bias")
  bool bias = false;                       // a constant-1 column follows the stored ones

  Eigen::Index rows() const { return labels.size(); }
  Eigen::Index stored_cols() const { return is_float32() ? features_f32.cols() : features.cols(); }
  Eigen::Index cols() const { return stored_cols() + (bias ? 1 : 0); }
  bool is_float32() const { return features_f32.size() > 0; }
  // rows × cols of zero features and labels in the given precision.
  void allocate(Eigen::Index rows, Eigen::Index cols, Storage storage);
  void set(Eigen::Index row, Eigen::Index col, double value) {
    if (is_float32()) features_f32(row, col) = static_cast<float>(value);
    else features(row, col) = value;
  }
  // Keeps the first `count` rows, in place (no copy of the rest).
  void shrink_rows(Eigen::Index count);
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
Dataset load_csv(const std::filesystem::path& file, const std::string& label, Storage storage = Storage::Float64);

struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TrainTest {
  Dataset train;
  Dataset test;
};

// Shuffles the row order with the given key and puts ceil(test_fraction · n) rows in the test set
// (sklearn's rounding), the rest in the training set, each in permutation order. The training set
// reuses `all`'s storage (rows permuted in place), so the data is never held twice.
TrainTest split_random(Dataset all, double test_fraction, std::uint64_t key);

// Per-feature mean and population standard deviation of `train` (sklearn's StandardScaler).
struct Standardizer {
  Vector mean;
  Vector scale;  // 1 where a feature is constant, so it is only centred
  static Standardizer fit(const Dataset& train);
  void apply(Dataset& data) const;
};

// Appends a constant-1 column (the model's bias term), as the seed does before training (`bias`: the
// column is produced by `gather`, not stored).
void add_bias_column(Dataset& data);

// Keeps the first `count` rows (all if count is 0 or larger than the set).
void truncate_rows(Dataset& data, Eigen::Index count);

}  // namespace dmlsim
