#include "data/dataset.hpp"

#include "data/loaders.hpp"
#include "util/rng.hpp"
#include "util/quote.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <numeric>
#include <sstream>

namespace dmlsim {
namespace {

constexpr double kMaxClassIndex = 65535;

std::string trim(const std::string& cell) {
  // Spaces and a trailing carriage return (files written on Windows).
  const auto first = cell.find_first_not_of(" \t\r");
  const auto last = cell.find_last_not_of(" \t\r");
  return first == std::string::npos ? std::string() : cell.substr(first, last - first + 1);
}

// Cells of one line; a cell may be quoted as R's write.csv and pandas write headers ("a","b"),
// with "" for a quote inside.
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      cell += '"';
      ++i;
    } else if (c == '"' && (quoted || trim(cell).empty())) {
      quoted = !quoted;
      was_quoted = true;
      if (quoted) cell.clear();
    } else if (c == ',' && !quoted) {
      cells.push_back(was_quoted ? cell : trim(cell));
      cell.clear();
      was_quoted = false;
    } else if (!(was_quoted && !quoted)) {  // text after a closing quote (spaces, \r) is dropped
      cell += c;
    }
  }
  cells.push_back(was_quoted ? cell : trim(cell));
  return cells;
}

std::size_t label_column(const std::vector<std::string>& header, const std::string& label, const std::string& where) {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == label) return i;
  if (label == "last") return header.size() - 1;
  if (!label.empty() && label.find_first_not_of("0123456789") == std::string::npos) {
    const auto position = label.size() > 9 ? header.size() + 1 : std::stoul(label);  // stoul throws past 2^64
    if (position >= 1 && position <= header.size()) return position - 1;
    throw DataError(fmt::format("{}: label column {} is out of range (the file has {} columns)", where, label,
                                header.size()));
  }
  throw DataError(fmt::format("{}: no column named {} in the header", where, quote_input(label)));
}

double parse_cell(const std::string& cell, const std::string& where, const std::string& column) {
  const char* begin = cell.c_str();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (cell.empty() || end != begin + cell.size() || !std::isfinite(value))
    throw DataError(fmt::format("{}: column {}: {} is not a finite number", where, quote_input(column), quote_input(cell)));
  return value;
}

// A label that is not a class index: say which column was taken and why, and how to fix the file.
void check_label_cell(const std::string& cell, const std::string& where, const std::string& column,
                      const std::string& label) {
  const char* begin = cell.c_str();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (!cell.empty() && end == begin + cell.size() && std::isfinite(value) && value == std::floor(value) && value >= 0)
    return;
  const std::string taken = label == "last" ? fmt::format("the label is the last column, {} (label=\"last\", the "
                                                          "default); if it is elsewhere, name it: <data label=\"COLUMN\"/>",
                                                          quote_input(column))
                                            : fmt::format("the label column is {}", quote_input(column));
  const bool text = end == begin && !cell.empty();
  throw DataError(fmt::format("{}: label {} is {}: {}. Labels must be class indices 0, 1, 2, …{}", where, quote_input(column), quote_input(cell),
                              taken, text ? "; map class names to numbers first (e.g. setosa → 0, versicolor → 1)" : ""));
}

template <class Features>
void copy_rows(const Features& from, const std::vector<int>& rows, Features& to) {
  for (std::size_t i = 0; i < rows.size(); ++i) to.row(static_cast<Eigen::Index>(i)) = from.row(rows[i]);
}

Dataset select_rows(const Dataset& all, const std::vector<int>& rows) {
  Dataset out;
  out.feature_names = all.feature_names;
  out.classes = all.classes;
  out.bias = all.bias;
  out.allocate(static_cast<Eigen::Index>(rows.size()), all.stored_cols(),
               all.is_float32() ? Storage::Float32 : Storage::Float64);
  if (all.is_float32()) copy_rows(all.features_f32, rows, out.features_f32);
  else copy_rows(all.features, rows, out.features);
  for (std::size_t i = 0; i < rows.size(); ++i) out.labels(static_cast<Eigen::Index>(i)) = all.labels(rows[i]);
  return out;
}

// Row i becomes the old row source[i], for a permutation `source` of all rows, following its cycles
// with one row of temporary storage.
template <class Features>
void permute_rows(Features& features, const std::vector<int>& source) {
  std::vector<bool> done(source.size(), false);
  typename Features::PlainObject saved(1, features.cols());
  for (std::size_t start = 0; start < source.size(); ++start) {
    if (done[start]) continue;
    saved = features.row(static_cast<Eigen::Index>(start));
    auto at = start;
    while (static_cast<std::size_t>(source[at]) != start) {
      features.row(static_cast<Eigen::Index>(at)) = features.row(source[at]);
      done[at] = true;
      at = static_cast<std::size_t>(source[at]);
    }
    features.row(static_cast<Eigen::Index>(at)) = saved;
    done[at] = true;
  }
}

// Columns are standardised in blocks of this width, copied to float64: a multiple of every SIMD
// width, so each column is reduced by Eigen in the same order as in the whole matrix.
constexpr Eigen::Index kStandardizeBlock = 16;

template <class Features>
Standardizer fit_in_blocks(const Features& features) {
  Standardizer s;
  const auto n = static_cast<double>(features.rows());
  s.mean.resize(features.cols());
  s.scale.resize(features.cols());
  for (Eigen::Index j = 0; j < features.cols(); j += kStandardizeBlock) {
    const auto width = std::min(kStandardizeBlock, features.cols() - j);
    const Matrix block = features.middleCols(j, width).template cast<double>();
    const Vector mean = block.colwise().mean().transpose();
    const Matrix centred = block.rowwise() - mean.transpose();
    s.mean.segment(j, width) = mean;
    s.scale.segment(j, width) = (centred.array().square().colwise().sum() / n).sqrt().transpose();
  }
  for (auto& v : s.scale) v = (v > 0.0) ? v : 1.0;
  return s;
}

}  // namespace

Dataset load_csv(const std::filesystem::path& file, const std::string& label, Storage storage) {
  std::ifstream in(file);
  if (!in) throw DataError(fmt::format("{}: cannot open the data file", file.string()));
  std::string line;
  if (!std::getline(in, line)) throw DataError(fmt::format("{}:1: the file is empty (a header row is expected)", file.string()));
  const auto header = split_csv_line(line);
  const auto label_index = label_column(header, label, fmt::format("{}:1", file.string()));

  // Sized by a first pass counting lines (blank lines are dropped at the end), so the features are
  // parsed straight into their storage: no growing buffer, no float64 copy of a float32 set.
  const auto data_start = in.tellg();
  const auto lines = std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n') + 1;
  in.clear();
  in.seekg(data_start);
  Dataset data;
  const auto d = static_cast<Eigen::Index>(header.size() - 1);
  check_dense_size(lines, d, file.string());
  data.allocate(lines, d, storage);
  Eigen::Index rows = 0;
  int line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto where = fmt::format("{}:{}", file.string(), line_number);
    const auto cells = split_csv_line(line);
    if (cells.size() != header.size())
      throw DataError(fmt::format("{}: {} columns, but the header has {}", where, cells.size(), header.size()));
    Eigen::Index column = 0;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c == label_index) check_label_cell(cells[c], where, header[c], label);
      const double value = parse_cell(cells[c], where, header[c]);
      if (c != label_index) {
        data.set(rows, column++, value);
      } else {
        // A softmax or MLP output layer has one row per class up to the largest index: cap it so a
        // stray value (999999) cannot silently build a million-class model.
        if (value < 0 || value != std::floor(value) || value > kMaxClassIndex)
          throw DataError(fmt::format("{}: label {} is {}, but labels must be class indices 0, 1, 2, … (at most {})",
                                      where, quote_input(header[c]), cells[c], kMaxClassIndex));
        data.labels(rows) = value;
      }
    }
    ++rows;
  }
  if (rows == 0) throw DataError(fmt::format("{}: no data rows after the header", file.string()));
  data.shrink_rows(rows);
  data.classes = static_cast<int>(data.labels.maxCoeff()) + 1;
  data.classes = std::max(data.classes, 2);
  for (std::size_t c = 0; c < header.size(); ++c)
    if (c != label_index) data.feature_names.push_back(header[c]);
  return data;
}

void Dataset::allocate(Eigen::Index n, Eigen::Index d, Storage storage) {
  features = Matrix();
  features_f32 = MatrixF();
  if (storage == Storage::Float32) features_f32 = MatrixF::Zero(n, d);
  else features = Matrix::Zero(n, d);
  labels = Vector::Zero(n);
}

void Dataset::shrink_rows(Eigen::Index count) {
  // Row-major with the same number of columns: Eigen reallocates in place.
  if (is_float32()) features_f32.conservativeResize(count, Eigen::NoChange);
  else features.conservativeResize(count, Eigen::NoChange);
  labels.conservativeResize(count);
}

void Dataset::use_float32() {
  if (is_float32()) return;
  features_f32 = features.cast<float>();
  features = Matrix();  // release the float64 copy
}

void Dataset::gather(const std::vector<int>& rows, Matrix& X, Vector& y) const {
  const auto stored = stored_cols();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto dst = static_cast<Eigen::Index>(i);
    if (is_float32()) X.row(dst).head(stored) = features_f32.row(rows[i]).cast<double>();
    else X.row(dst).head(stored) = features.row(rows[i]);
    y(dst) = labels(rows[i]);
  }
  if (bias) X.col(stored).head(static_cast<Eigen::Index>(rows.size())).setOnes();
}

void Dataset::gather_range(Eigen::Index begin, Eigen::Index count, Matrix& X, Vector& y) const {
  const auto stored = stored_cols();
  if (is_float32()) X.topLeftCorner(count, stored) = features_f32.middleRows(begin, count).cast<double>();
  else X.topLeftCorner(count, stored) = features.middleRows(begin, count);
  if (bias) X.col(stored).head(count).setOnes();
  y.head(count) = labels.segment(begin, count);
}

std::vector<long> Dataset::class_counts() const {
  std::vector<long> counts(static_cast<std::size_t>(classes), 0);
  for (Eigen::Index i = 0; i < labels.size(); ++i) ++counts[static_cast<std::size_t>(labels(i))];
  return counts;
}

void truncate_rows(Dataset& data, Eigen::Index count) {
  if (count <= 0 || count >= data.rows()) return;
  data.shrink_rows(count);
}

TrainTest split_random(Dataset all, double test_fraction, std::uint64_t key) {
  const int n = static_cast<int>(all.rows());
  const int n_test = static_cast<int>(std::ceil(test_fraction * n));
  const auto order = random_permutation(n, key);
  Dataset test = select_rows(all, std::vector<int>(order.begin(), order.begin() + n_test));
  // The training rows move to the front of `all`, in permutation order, the test rows behind them.
  std::vector<int> source(order.begin() + n_test, order.end());
  source.insert(source.end(), order.begin(), order.begin() + n_test);
  if (all.is_float32()) permute_rows(all.features_f32, source);
  else permute_rows(all.features, source);
  const Vector labels = all.labels;
  for (int i = 0; i < n; ++i) all.labels(i) = labels(source[static_cast<std::size_t>(i)]);
  all.shrink_rows(n - n_test);
  return {std::move(all), std::move(test)};
}

Standardizer Standardizer::fit(const Dataset& train) {
  return train.is_float32() ? fit_in_blocks(train.features_f32) : fit_in_blocks(train.features);
}

void Standardizer::apply(Dataset& data) const {
  if (data.is_float32())
    data.features_f32 = ((data.features_f32.cast<double>().rowwise() - mean.transpose()).array().rowwise() /
                         scale.transpose().array())
                            .matrix()
                            .cast<float>();
  else
    data.features = ((data.features.rowwise() - mean.transpose()).array().rowwise() / scale.transpose().array()).matrix();
}

void add_bias_column(Dataset& data) {
  data.bias = true;
  data.feature_names.emplace_back("bias");
}

}  // namespace dmlsim
