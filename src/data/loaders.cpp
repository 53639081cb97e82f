#include "data/loaders.hpp"

#include "util/quote.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <sstream>
#include <unistd.h>
#include <zlib.h>

namespace dmlsim {

namespace {

// A file read through zlib, which gunzips gzip data and passes plain files through unchanged.
// Reads in pieces, so a data set is never held as text or bytes beside its parsed storage.
class GzFile {
 public:
  explicit GzFile(const std::filesystem::path& file) : file_(file), in_(gzopen(file.c_str(), "rb")) {
    if (!in_) throw DataError(fmt::format("{}: cannot open the data file", file.string()));
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  ~GzFile() { gzclose(in_); }

  // Up to `size` bytes; fewer only at the end of the data.
  std::size_t read(char* buffer, std::size_t size) {
    std::size_t total = 0;
    while (total < size) {
      const auto piece = static_cast<unsigned>(std::min<std::size_t>(size - total, 1u << 30));
      const int n = gzread(in_, buffer + total, piece);
      if (n < 0) throw_if_corrupt(true);
      if (n <= 0) break;
      total += static_cast<std::size_t>(n);
    }
    return total;
  }
  // Counts and drops the rest of the file.
  std::size_t skip_to_end() {
    char buffer[1 << 16];
    std::size_t total = 0, n = 0;
    while ((n = read(buffer, sizeof buffer)) > 0) total += n;
    return total;
  }
  // One line without its '\n' (a '\r' stays, as with std::getline); false at the end.
  bool getline(std::string& line) {
    line.clear();
    char buffer[1 << 16];
    while (gzgets(in_, buffer, sizeof buffer)) {
      line.append(buffer);
      if (!line.empty() && line.back() == '\n') {
        line.pop_back();
        return true;
      }
    }
    throw_if_corrupt(false);
    return !line.empty();
  }
  void rewind() { gzrewind(in_); }
  // Zlib's reason for a read that failed, or for gzip data cut short.
  void throw_if_corrupt(bool failed) {
    int error = Z_OK;
    const std::string message = gzerror(in_, &error);
    if (failed || (error != Z_OK && error != Z_STREAM_END))
      throw DataError(fmt::format("{}: corrupt or truncated gzip data ({})", file_.string(), message));
  }

 private:
  std::filesystem::path file_;
  gzFile in_;
};

std::uint32_t big_endian(const char* bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes);
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// The dimension sizes of an IDX file of unsigned bytes and the number of data bytes they announce.
struct IdxHeader {
  std::vector<std::uint32_t> sizes;
  std::size_t data_bytes = 1;
};

// Reads and checks the magic number and the dimension sizes.
IdxHeader read_idx_header(GzFile& in, const std::filesystem::path& file, int dims) {
  char bytes[4 + 4 * 3];
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(dims);
  const auto got = in.read(bytes, header);
  const std::uint32_t expected = 0x00000800u + static_cast<std::uint32_t>(dims);
  if (got < 4 || big_endian(bytes) != expected)
    throw DataError(fmt::format("{}: not an IDX file of {} dimension(s) of unsigned bytes (magic {:#010x}, expected {:#010x})",
                                file.string(), dims, got < 4 ? 0u : big_endian(bytes), expected));
  if (got < header) throw DataError(fmt::format("{}: too short for an IDX header", file.string()));
  IdxHeader idx;
  for (int d = 0; d < dims; ++d) {
    idx.sizes.push_back(big_endian(bytes + 4 + 4 * d));
    if (idx.sizes.back() == 0)
      throw DataError(fmt::format("{}: the IDX header announces a dimension of size 0 (dimension {})", file.string(), d + 1));
    // A forged header can multiply past 2^64 and wrap into a size that matches the file.
    if (__builtin_mul_overflow(idx.data_bytes, std::size_t{idx.sizes.back()}, &idx.data_bytes))
      throw DataError(fmt::format("{}: the IDX header's dimensions multiply past 2^64 bytes", file.string()));
  }
  return idx;
}

// Hands the announced data bytes to `take(bytes, count, offset)` piece by piece, then checks that
// the file holds exactly those bytes.
template <class Take>
void read_idx_data(GzFile& in, const IdxHeader& idx, const std::filesystem::path& file, Take take) {
  std::vector<char> piece(std::min<std::size_t>(idx.data_bytes, 1 << 20));
  std::size_t offset = 0;
  while (offset < idx.data_bytes) {
    const auto n = in.read(piece.data(), std::min(piece.size(), idx.data_bytes - offset));
    if (n == 0) break;
    take(reinterpret_cast<const unsigned char*>(piece.data()), n, offset);
    offset += n;
  }
  const auto extra = in.skip_to_end();
  in.throw_if_corrupt(false);
  if (offset + extra != idx.data_bytes)
    throw DataError(fmt::format("{}: truncated or oversized IDX data ({} bytes of data, the header announces {})",
                                file.string(), offset + extra, idx.data_bytes));
}

// Rows are contiguous (row-major), so IDX pixels go to their storage in file order.
template <class Scalar>
void scale_pixels(const unsigned char* pixels, std::size_t count, double scale, Scalar* to) {
  for (std::size_t i = 0; i < count; ++i) to[i] = static_cast<Scalar>(pixels[i] / scale);
}

// One LIBSVM line: its label, and `entry(index, value)` for each INDEX:VALUE (indices from 1).
// Returns false for a blank or comment-only line. `features` > 0 bounds the indices.
template <class Entry>
bool parse_libsvm_line(std::string& line, const std::string& where, Eigen::Index features, double& label, Entry entry) {
  const auto comment = line.find('#');
  if (comment != std::string::npos) line.resize(comment);
  std::istringstream items(line);
  std::string token;
  if (!(items >> token)) return false;
  char* end = nullptr;
  label = std::strtod(token.c_str(), &end);
  if (*end != '\0' || !std::isfinite(label) || label != std::floor(label))
    throw DataError(fmt::format("{}: label {} is not an integer", where, quote_input(token)));
  long previous = 0;
  while (items >> token) {
    const auto colon = token.find(':');
    char* index_end = nullptr;
    const long index = colon == std::string::npos ? 0 : std::strtol(token.c_str(), &index_end, 10);
    if (colon == std::string::npos || index_end != token.c_str() + colon || index < 1)
      throw DataError(fmt::format("{}: {} is not INDEX:VALUE with an index from 1", where, quote_input(token)));
    if (index <= previous) throw DataError(fmt::format("{}: index {} is not increasing", where, index));
    previous = index;
    const double value = std::strtod(token.c_str() + colon + 1, &end);
    if (*end != '\0' || end == token.c_str() + colon + 1 || !std::isfinite(value))
      throw DataError(fmt::format("{}: {} has no finite value", where, quote_input(token)));
    if (features > 0 && index > features)
      throw DataError(fmt::format("{}: index {} exceeds the declared {} features", where, index, features));
    entry(static_cast<Eigen::Index>(index), value);
  }
  return true;
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

Dataset load_idx(const std::filesystem::path& images, const std::filesystem::path& labels, double scale,
                 Storage storage) {
  GzFile image_file(images);
  const auto image_header = read_idx_header(image_file, images, 3);
  GzFile label_file(labels);
  const auto label_header = read_idx_header(label_file, labels, 1);
  Dataset data;
  const auto n = static_cast<Eigen::Index>(image_header.sizes[0]);
  std::vector<unsigned char> classes(label_header.data_bytes);
  read_idx_data(label_file, label_header, labels, [&](const unsigned char* bytes, std::size_t count, std::size_t offset) {
    std::copy(bytes, bytes + count, classes.begin() + static_cast<std::ptrdiff_t>(offset));
  });
  if (image_header.sizes[0] != label_header.sizes[0])
    throw DataError(fmt::format("{}: {} labels for the {} images of {}", labels.string(), label_header.sizes[0],
                                image_header.sizes[0], images.string()));
  const auto d = static_cast<Eigen::Index>(image_header.sizes[1]) * image_header.sizes[2];
  check_dense_size(n, d, images.string());
  data.allocate(n, d, storage);
  read_idx_data(image_file, image_header, images, [&](const unsigned char* pixels, std::size_t count, std::size_t offset) {
    if (data.is_float32()) scale_pixels(pixels, count, scale, data.features_f32.data() + offset);
    else scale_pixels(pixels, count, scale, data.features.data() + offset);
  });
  for (Eigen::Index i = 0; i < n; ++i) data.labels(i) = classes[static_cast<std::size_t>(i)];
  data.classes = std::max(2, static_cast<int>(data.labels.maxCoeff()) + 1);
  for (Eigen::Index j = 0; j < d; ++j) data.feature_names.push_back(fmt::format("pixel{}", j));
  return data;
}

// Two passes over the (possibly gzipped) text, line by line: the first checks every line and finds
// the labels and the dimension, the second writes the values into the dense storage, so neither the
// text nor a list of entries is held beside it.
Dataset load_libsvm(const std::filesystem::path& file, Eigen::Index features, Storage storage) {
  GzFile in(file);
  std::vector<double> raw_labels;
  Eigen::Index max_index = 0;
  int max_index_line = 0;
  std::string line;
  int line_number = 0;
  double label = 0;
  while (in.getline(line)) {
    ++line_number;
    const auto where = fmt::format("{}:{}", file.string(), line_number);
    const bool data_line = parse_libsvm_line(line, where, features, label, [&](Eigen::Index index, double) {
      if (index > max_index) {
        max_index = index;
        max_index_line = line_number;
      }
    });
    if (data_line) raw_labels.push_back(label);
  }
  if (raw_labels.empty()) throw DataError(fmt::format("{}: no data lines", file.string()));

  // Binary ±1 → 0/1; otherwise distinct labels in increasing order → 0 … C-1.
  std::map<double, int> classes;
  for (double l : raw_labels) classes.emplace(l, 0);
  int next = 0;
  for (auto& [value, index] : classes) index = next++;
  Dataset data;
  const Eigen::Index d = features > 0 ? features : max_index;
  const auto n = static_cast<Eigen::Index>(raw_labels.size());
  check_dense_size(n, d,
                   features > 0 ? fmt::format("{}: features={}", file.string(), features)
                                : fmt::format("{}:{}: feature index {}", file.string(), max_index_line, max_index));
  data.allocate(n, d, storage);
  for (Eigen::Index i = 0; i < n; ++i) data.labels(i) = classes[raw_labels[static_cast<std::size_t>(i)]];
  in.rewind();
  Eigen::Index row = 0;
  while (in.getline(line)) {
    const bool data_line = parse_libsvm_line(line, file.string(), features, label,
                                             [&](Eigen::Index index, double value) { data.set(row, index - 1, value); });
    if (data_line) ++row;
  }
  data.classes = std::max(2, next);
  for (Eigen::Index j = 0; j < d; ++j) data.feature_names.push_back(fmt::format("f{}", j + 1));
  return data;
}

}  // namespace dmlsim
