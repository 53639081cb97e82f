#include "data/dataset.hpp"

#include "util/rng.hpp"

#include <cmath>
#include <fmt/format.h>
#include <fstream>
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
  throw DataError(fmt::format("{}: no column named '{}' in the header", where, label));
}

double parse_cell(const std::string& cell, const std::string& where, const std::string& column) {
  const char* begin = cell.c_str();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (cell.empty() || end != begin + cell.size() || !std::isfinite(value))
    throw DataError(fmt::format("{}: column '{}': '{}' is not a finite number", where, column, cell));
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
  const std::string taken = label == "last" ? fmt::format("the label is the last column, '{}' (label=\"last\", the "
                                                          "default); if it is elsewhere, name it: <data label=\"COLUMN\"/>",
                                                          column)
                                            : fmt::format("the label column is '{}'", column);
  const bool text = end == begin && !cell.empty();
  throw DataError(fmt::format("{}: label '{}' is '{}': {}. Labels must be class indices 0, 1, 2, …{}", where, column, cell,
                              taken, text ? "; map class names to numbers first (e.g. setosa → 0, versicolor → 1)" : ""));
}

Dataset select_rows(const Dataset& all, const std::vector<int>& rows) {
  Dataset out;
  out.feature_names = all.feature_names;
  out.classes = all.classes;
  out.features.resize(static_cast<Eigen::Index>(rows.size()), all.cols());
  out.labels.resize(static_cast<Eigen::Index>(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out.features.row(static_cast<Eigen::Index>(i)) = all.features.row(rows[i]);
    out.labels(static_cast<Eigen::Index>(i)) = all.labels(rows[i]);
  }
  return out;
}


}  // namespace

Dataset load_csv(const std::filesystem::path& file, const std::string& label) {
  std::ifstream in(file);
  if (!in) throw DataError(fmt::format("{}: cannot open the data file", file.string()));
  std::string line;
  if (!std::getline(in, line)) throw DataError(fmt::format("{}:1: the file is empty (a header row is expected)", file.string()));
  const auto header = split_csv_line(line);
  const auto label_index = label_column(header, label, fmt::format("{}:1", file.string()));

  std::vector<double> values;
  std::vector<double> labels;
  int line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto where = fmt::format("{}:{}", file.string(), line_number);
    const auto cells = split_csv_line(line);
    if (cells.size() != header.size())
      throw DataError(fmt::format("{}: {} columns, but the header has {}", where, cells.size(), header.size()));
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c == label_index) check_label_cell(cells[c], where, header[c], label);
      const double value = parse_cell(cells[c], where, header[c]);
      if (c != label_index) {
        values.push_back(value);
      } else {
        // A softmax or MLP output layer has one row per class up to the largest index: cap it so a
        // stray value (999999) cannot silently build a million-class model.
        if (value < 0 || value != std::floor(value) || value > kMaxClassIndex)
          throw DataError(fmt::format("{}: label '{}' is {}, but labels must be class indices 0, 1, 2, … (at most {})",
                                      where, header[c], cells[c], kMaxClassIndex));
        labels.push_back(value);
      }
    }
  }
  if (labels.empty()) throw DataError(fmt::format("{}: no data rows after the header", file.string()));

  Dataset data;
  const auto n = static_cast<Eigen::Index>(labels.size());
  const auto d = static_cast<Eigen::Index>(header.size() - 1);
  data.features = Eigen::Map<Matrix>(values.data(), n, d);
  data.labels = Eigen::Map<Vector>(labels.data(), n);
  data.classes = static_cast<int>(data.labels.maxCoeff()) + 1;
  data.classes = std::max(data.classes, 2);
  for (std::size_t c = 0; c < header.size(); ++c)
    if (c != label_index) data.feature_names.push_back(header[c]);
  return data;
}

void Dataset::use_float32() {
  if (is_float32()) return;
  features_f32 = features.cast<float>();
  features = Matrix();  // release the float64 copy
}

void Dataset::gather(const std::vector<int>& rows, Matrix& X, Vector& y) const {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto dst = static_cast<Eigen::Index>(i);
    if (is_float32()) X.row(dst) = features_f32.row(rows[i]).cast<double>();
    else X.row(dst) = features.row(rows[i]);
    y(dst) = labels(rows[i]);
  }
}

void Dataset::gather_range(Eigen::Index begin, Eigen::Index count, Matrix& X, Vector& y) const {
  if (is_float32()) X.topRows(count) = features_f32.middleRows(begin, count).cast<double>();
  else X.topRows(count) = features.middleRows(begin, count);
  y.head(count) = labels.segment(begin, count);
}

std::vector<long> Dataset::class_counts() const {
  std::vector<long> counts(static_cast<std::size_t>(classes), 0);
  for (Eigen::Index i = 0; i < labels.size(); ++i) ++counts[static_cast<std::size_t>(labels(i))];
  return counts;
}

void truncate_rows(Dataset& data, Eigen::Index count) {
  if (count <= 0 || count >= data.rows()) return;
  data.features.conservativeResize(count, Eigen::NoChange);
  data.labels.conservativeResize(count);
}

TrainTest split_random(const Dataset& all, double test_fraction, std::uint64_t key) {
  const int n = static_cast<int>(all.rows());
  const int n_test = static_cast<int>(std::ceil(test_fraction * n));
  const auto order = random_permutation(n, key);
  const std::vector<int> test_rows(order.begin(), order.begin() + n_test);
  const std::vector<int> train_rows(order.begin() + n_test, order.end());
  return {select_rows(all, train_rows), select_rows(all, test_rows)};
}

Standardizer Standardizer::fit(const Dataset& train) {
  Standardizer s;
  s.mean = train.features.colwise().mean().transpose();
  const Matrix centred = train.features.rowwise() - s.mean.transpose();
  s.scale = (centred.array().square().colwise().sum() / static_cast<double>(train.features.rows())).sqrt().transpose();
  for (auto& v : s.scale) v = (v > 0.0) ? v : 1.0;
  return s;
}

void Standardizer::apply(Dataset& data) const {
  data.features = ((data.features.rowwise() - mean.transpose()).array().rowwise() / scale.transpose().array()).matrix();
}

void add_bias_column(Dataset& data) {
  data.features.conservativeResize(Eigen::NoChange, data.cols() + 1);
  data.features.col(data.cols() - 1).setOnes();
  data.feature_names.emplace_back("bias");
}

}  // namespace dmlsim
