#include "data/loaders.hpp"

#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>
#include <zlib.h>

namespace dmlsim {

namespace {

// Whole file, gunzipped when it is gzip (zlib's gzread passes plain files through unchanged).
std::string read_maybe_gzipped(const std::filesystem::path& file) {
  gzFile in = gzopen(file.c_str(), "rb");
  if (!in) throw DataError(fmt::format("{}: cannot open the data file", file.string()));
  std::string content;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(in, buffer, sizeof buffer)) > 0) content.append(buffer, static_cast<std::size_t>(n));
  int error = Z_OK;
  // gzerror's text belongs to the handle: copy it before gzclose frees it.
  const std::string message = gzerror(in, &error);
  gzclose(in);
  if (n < 0 || (error != Z_OK && error != Z_STREAM_END))
    throw DataError(fmt::format("{}: corrupt or truncated gzip data ({})", file.string(), message));
  return content;
}

std::uint32_t big_endian(const std::string& bytes, std::size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// Checks the magic number and returns the dimension sizes of an IDX file of unsigned bytes.
std::vector<std::uint32_t> idx_header(const std::string& bytes, const std::filesystem::path& file, int dims) {
  const std::uint32_t expected = 0x00000800u + static_cast<std::uint32_t>(dims);
  if (bytes.size() < 4 || big_endian(bytes, 0) != expected)
    throw DataError(fmt::format("{}: not an IDX file of {} dimension(s) of unsigned bytes (magic {:#010x}, expected {:#010x})",
                                file.string(), dims, bytes.size() < 4 ? 0u : big_endian(bytes, 0), expected));
  if (bytes.size() < 4u + 4u * static_cast<unsigned>(dims))
    throw DataError(fmt::format("{}: too short for an IDX header", file.string()));
  std::vector<std::uint32_t> sizes;
  std::size_t total = 1;
  for (int d = 0; d < dims; ++d) {
    sizes.push_back(big_endian(bytes, 4 + 4 * static_cast<std::size_t>(d)));
    if (sizes.back() == 0)
      throw DataError(fmt::format("{}: the IDX header announces a dimension of size 0 (dimension {})", file.string(), d + 1));
    // A forged header can multiply past 2^64 and wrap into a size that matches the file.
    if (__builtin_mul_overflow(total, std::size_t{sizes.back()}, &total))
      throw DataError(fmt::format("{}: the IDX header's dimensions multiply past 2^64 bytes", file.string()));
  }
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(dims);
  if (bytes.size() - header != total)
    throw DataError(fmt::format("{}: truncated or oversized IDX data ({} bytes of data, the header announces {})",
                                file.string(), bytes.size() - header, total));
  return sizes;
}

}  // namespace

void check_dense_size(Eigen::Index rows, Eigen::Index columns, const std::string& where) {
  const double bytes = static_cast<double>(rows) * static_cast<double>(columns) * sizeof(double);
  // The data is held at least twice (as loaded, then split or partitioned): half of what is free.
  const double available = static_cast<double>(::sysconf(_SC_AVPHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (bytes > available / 2)
    throw DataError(fmt::format("{} makes a dense {} x {} matrix of {:.3g} GB, more than half of the {:.3g} GB of memory "
                                "available on this machine",
                                where, rows, columns, bytes / 1e9, available / 1e9));
}

Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels, double scale) {
  const std::string image_bytes = read_maybe_gzipped(images);
  const std::string label_bytes = read_maybe_gzipped(labels);
  const auto image_sizes = idx_header(image_bytes, images, 3);
  const auto label_sizes = idx_header(label_bytes, labels, 1);
  if (image_sizes[0] != label_sizes[0])
    throw DataError(fmt::format("{}: {} labels for the {} images of {}", labels.string(), label_sizes[0],
                                image_sizes[0], images.string()));
  const auto n = static_cast<Eigen::Index>(image_sizes[0]);
  const auto d = static_cast<Eigen::Index>(image_sizes[1]) * image_sizes[2];
  check_dense_size(n, d, images.string());
  Dataset data;
  data.features.resize(n, d);
  data.labels.resize(n);
  const auto* pixels = reinterpret_cast<const unsigned char*>(image_bytes.data() + 16);
  for (Eigen::Index i = 0; i < n * d; ++i) data.features.data()[i] = pixels[i] / scale;
  const auto* classes = reinterpret_cast<const unsigned char*>(label_bytes.data() + 8);
  for (Eigen::Index i = 0; i < n; ++i) data.labels(i) = classes[i];
  data.classes = std::max(2, static_cast<int>(data.labels.maxCoeff()) + 1);
  for (Eigen::Index j = 0; j < d; ++j) data.feature_names.push_back(fmt::format("pixel{}", j));
  return data;
}

Dataset load_libsvm(const std::filesystem::path& file, Eigen::Index features) {
  const std::string text = read_maybe_gzipped(file);
  std::istringstream lines(text);
  struct Entry {
    Eigen::Index row, column;
    double value;
  };
  std::vector<Entry> entries;
  std::vector<double> raw_labels;
  Eigen::Index max_index = 0;
  int max_index_line = 0;
  std::string line;
  int line_number = 0;
  while (std::getline(lines, line)) {
    ++line_number;
    const auto comment = line.find('#');
    if (comment != std::string::npos) line.resize(comment);
    std::istringstream items(line);
    std::string token;
    if (!(items >> token)) continue;
    const auto where = fmt::format("{}:{}", file.string(), line_number);
    char* end = nullptr;
    const double label = std::strtod(token.c_str(), &end);
    if (*end != '\0' || !std::isfinite(label) || label != std::floor(label))
      throw DataError(fmt::format("{}: label '{}' is not an integer", where, token));
    const auto row = static_cast<Eigen::Index>(raw_labels.size());
    raw_labels.push_back(label);
    long previous = 0;
    while (items >> token) {
      const auto colon = token.find(':');
      char* index_end = nullptr;
      const long index = colon == std::string::npos ? 0 : std::strtol(token.c_str(), &index_end, 10);
      if (colon == std::string::npos || index_end != token.c_str() + colon || index < 1)
        throw DataError(fmt::format("{}: '{}' is not INDEX:VALUE with an index from 1", where, token));
      if (index <= previous) throw DataError(fmt::format("{}: index {} is not increasing", where, index));
      previous = index;
      const double value = std::strtod(token.c_str() + colon + 1, &end);
      if (*end != '\0' || end == token.c_str() + colon + 1 || !std::isfinite(value))
        throw DataError(fmt::format("{}: '{}' has no finite value", where, token));
      if (features > 0 && index > features)
        throw DataError(fmt::format("{}: index {} exceeds the declared {} features", where, index, features));
      entries.push_back({row, index - 1, value});
      if (index > max_index) {
        max_index = index;
        max_index_line = line_number;
      }
    }
  }
  if (raw_labels.empty()) throw DataError(fmt::format("{}: no data lines", file.string()));

  // Binary ±1 → 0/1; otherwise distinct labels in increasing order → 0 … C-1.
  std::map<double, int> classes;
  for (double l : raw_labels) classes.emplace(l, 0);
  int next = 0;
  for (auto& [label, index] : classes) index = next++;
  Dataset data;
  const Eigen::Index d = features > 0 ? features : max_index;
  check_dense_size(static_cast<Eigen::Index>(raw_labels.size()), d,
                   features > 0 ? fmt::format("{}: features={}", file.string(), features)
                                : fmt::format("{}:{}: feature index {}", file.string(), max_index_line, max_index));
  data.features = Matrix::Zero(static_cast<Eigen::Index>(raw_labels.size()), d);
  data.labels.resize(static_cast<Eigen::Index>(raw_labels.size()));
  for (std::size_t i = 0; i < raw_labels.size(); ++i) data.labels(static_cast<Eigen::Index>(i)) = classes[raw_labels[i]];
  for (const auto& e : entries) data.features(e.row, e.column) = e.value;
  data.classes = std::max(2, next);
  for (Eigen::Index j = 0; j < d; ++j) data.feature_names.push_back(fmt::format("f{}", j + 1));
  return data;
}

}  // namespace dmlsim
