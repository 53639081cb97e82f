// IDX and LIBSVM loaders (including malformed files) and the label-skew partitioners.
#include "data/loaders.hpp"
#include "data/partition.hpp"
#include "test_util.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <numeric>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

using namespace dmlsim;
using dmlsim::testutil::TempDir;
using dmlsim::testutil::read_text;
using dmlsim::testutil::write_text;

namespace {

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

void write_bytes(const std::filesystem::path& file, const std::string& bytes, bool gzip) {
  if (!gzip) {
    std::ofstream(file, std::ios::binary) << bytes;
    return;
  }
  gzFile out = gzopen(file.c_str(), "wb");
  gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(out);
}

// Two 2×2 images and their labels.
void write_tiny_idx(const TempDir& dir, bool gzip) {
  write_bytes(dir / "img", be32(0x803) + be32(2) + be32(2) + be32(2) + std::string("\x00\xff\x80\x01\x02\x03\x04\x05", 8), gzip);
  write_bytes(dir / "lab", be32(0x801) + be32(2) + std::string("\x07\x02", 2), gzip);
}

std::string load_error(const std::function<void()>& load) {
  try {
    load();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Idx, ReadsPlainAndGzipped) {
  for (bool gzip : {false, true}) {
    TempDir dir;
    write_tiny_idx(dir, gzip);
    const auto data = load_idx(dir / "img", dir / "lab", 255.0);
    ASSERT_EQ(data.rows(), 2);
    ASSERT_EQ(data.cols(), 4);
    EXPECT_DOUBLE_EQ(data.features(0, 1), 1.0);
    EXPECT_DOUBLE_EQ(data.features(0, 2), 128.0 / 255.0);
    EXPECT_EQ(data.labels(0), 7);
    EXPECT_EQ(data.classes, 8);
  }
}

TEST(Idx, MalformedFiles) {
  TempDir dir;
  write_tiny_idx(dir, false);
  write_bytes(dir / "short", be32(0x803) + be32(2) + be32(2) + be32(2) + "abc", false);
  EXPECT_NE(load_error([&] { load_idx(dir / "short", dir / "lab", 255); }).find("truncated or oversized IDX data"), std::string::npos);
  EXPECT_NE(load_error([&] { load_idx(dir / "lab", dir / "lab", 255); }).find("not an IDX file of 3 dimension(s)"), std::string::npos);
  write_bytes(dir / "lab3", be32(0x801) + be32(3) + std::string("\x01\x02\x03", 3), false);
  EXPECT_NE(load_error([&] { load_idx(dir / "img", dir / "lab3", 255); }).find("3 labels for the 2 images"), std::string::npos);
  write_bytes(dir / "bad.gz", std::string("\x1f\x8b\x08\x00garbage", 11), false);
  EXPECT_NE(load_error([&] { load_idx(dir / "bad.gz", dir / "lab", 255); }).find("bad.gz"), std::string::npos);
  EXPECT_NE(load_error([&] { load_idx(dir / "missing", dir / "lab", 255); }).find("cannot open"), std::string::npos);
}

TEST(Idx, ZeroImagesAndOverflowingDimensionsAreRejected) {
  TempDir dir;
  write_tiny_idx(dir, false);
  write_bytes(dir / "none", be32(0x803) + be32(0) + be32(28) + be32(28), false);
  write_bytes(dir / "nolab", be32(0x801) + be32(0), false);
  EXPECT_NE(load_error([&] { load_idx(dir / "none", dir / "nolab", 255); }).find("none: the IDX header announces a dimension of size 0"),
            std::string::npos);
  // 2^32-1 cubed wraps past 2^64; the forged product must not match the file's size.
  write_bytes(dir / "huge", be32(0x803) + be32(0xffffffffu) + be32(0xffffffffu) + be32(0xffffffffu) + "x", false);
  EXPECT_NE(load_error([&] { load_idx(dir / "huge", dir / "lab", 255); }).find("multiply past 2^64"), std::string::npos);
}

TEST(Idx, TruncatedGzipNamesTheFileAndZlibsReason) {
  TempDir dir;
  write_tiny_idx(dir, true);
  const std::string whole = read_text(dir / "img");
  write_bytes(dir / "cut.gz", whole.substr(0, whole.size() - 6), false);
  const auto error = load_error([&] { load_idx(dir / "cut.gz", dir / "lab", 255); });
  EXPECT_NE(error.find("cut.gz: corrupt or truncated gzip data ("), std::string::npos) << error;
}

TEST(Libsvm, IndicesAndFeatureCountsBeyondMemoryNameTheLine) {
  TempDir dir;
  write_text(dir / "big.svm", "1 1:1\n0 1:1\n1 1:1\n0 1:1\n1 1:1\n0 1:1\n1 1:1\n0 1073741824:1\n");
  EXPECT_NE(load_error([&] { load_libsvm(dir / "big.svm", 0); }).find("big.svm:8: feature index 1073741824 makes a dense 8 x 1073741824 matrix"),
            std::string::npos);
  write_text(dir / "small.svm", "1 1:1\n0 2:1\n");
  EXPECT_NE(load_error([&] { load_libsvm(dir / "small.svm", Eigen::Index{1} << 40); }).find("features=1099511627776 makes a dense"),
            std::string::npos);
}

TEST(Csv, HugeLabelColumnAndHugeClassIndexAreRejected) {
  TempDir dir;
  write_text(dir / "d.csv", "a,y\n1,0\n2,999999\n");
  EXPECT_NE(load_error([&] { load_csv(dir / "d.csv", "99999999999999999999999"); }).find("label column 99999999999999999999999 is out of range"),
            std::string::npos);
  EXPECT_NE(load_error([&] { load_csv(dir / "d.csv", "y"); }).find("d.csv:3: label 'y' is 999999, but labels must be class indices 0, 1, 2, … (at most 65535)"),
            std::string::npos);
}

TEST(Csv, QuotedHeadersAsRAndPandasWriteThem) {
  TempDir dir;
  write_text(dir / "q.csv", "\"x 1\",\"say \"\"hi\"\"\",\"y\"\r\n1,2,0\r\n3,4,1\r\n");
  const auto data = load_csv(dir / "q.csv", "y");
  EXPECT_EQ(data.feature_names, (std::vector<std::string>{"x 1", "say \"hi\""}));
  EXPECT_EQ(data.labels(1), 1);
}

TEST(Csv, LabelErrorsSayWhichColumnWasTakenAndHowToFixIt) {
  TempDir dir;
  write_text(dir / "iris.csv", "a,species\n1,setosa\n");
  EXPECT_NE(load_error([&] { load_csv(dir / "iris.csv", "last"); }).find("map class names to numbers first"), std::string::npos);
  write_text(dir / "first.csv", "y,a,b\n1,0.5,0.25\n");
  const auto error = load_error([&] { load_csv(dir / "first.csv", "last"); });
  EXPECT_NE(error.find("first.csv:2: label 'b' is '0.25': the label is the last column, 'b' (label=\"last\", the default); "
                       "if it is elsewhere, name it: <data label=\"COLUMN\"/>"),
            std::string::npos)
      << error;
}

TEST(FashionMnist, DebianPackageLoadsWhenInstalled) {
  const std::filesystem::path dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir / "t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const auto test = load_idx(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz", 255.0);
  EXPECT_EQ(test.rows(), 10000);
  EXPECT_EQ(test.cols(), 784);
  EXPECT_EQ(test.classes, 10);
  EXPECT_LE(test.features.maxCoeff(), 1.0);
  for (long count : test.class_counts()) EXPECT_EQ(count, 1000);
}

TEST(Libsvm, ReadsSparseLinesAndMapsLabels) {
  TempDir dir;
  write_text(dir / "d.svm", "+1 1:0.5 3:2\n-1 2:1 # comment\n\n+1 3:-1\n");
  const auto data = load_libsvm(dir / "d.svm", 0);
  ASSERT_EQ(data.rows(), 3);
  ASSERT_EQ(data.cols(), 3);
  EXPECT_EQ(data.features(0, 2), 2.0);
  EXPECT_EQ(data.features(1, 0), 0.0);
  EXPECT_EQ(data.labels(0), 1);  // +1 → 1
  EXPECT_EQ(data.labels(1), 0);  // -1 → 0
  EXPECT_EQ(load_libsvm(dir / "d.svm", 5).cols(), 5);
  write_text(dir / "m.svm", "3 1:1\n1 1:2\n2 1:3\n");
  const auto multi = load_libsvm(dir / "m.svm", 0);
  EXPECT_EQ(multi.classes, 3);
  EXPECT_EQ(multi.labels(0), 2);
}

TEST(Libsvm, MalformedLinesNameFileAndLine) {
  TempDir dir;
  const auto error_for = [&](const std::string& content, Eigen::Index features = 0) {
    write_text(dir / "bad.svm", content);
    return load_error([&] { load_libsvm(dir / "bad.svm", features); });
  };
  EXPECT_NE(error_for("1 1:1\nx 1:2\n").find("bad.svm:2: label 'x' is not an integer"), std::string::npos);
  EXPECT_NE(error_for("1 1:1 0:2\n").find("bad.svm:1: '0:2' is not INDEX:VALUE"), std::string::npos);
  EXPECT_NE(error_for("1 3:1 2:2\n").find("index 2 is not increasing"), std::string::npos);
  EXPECT_NE(error_for("1 1:abc\n").find("'1:abc' has no finite value"), std::string::npos);
  EXPECT_NE(error_for("1 4:1\n", 3).find("index 4 exceeds the declared 3 features"), std::string::npos);
  EXPECT_NE(error_for("# only a comment\n").find("no data lines"), std::string::npos);
}

namespace {
Dataset labelled(int n, int classes) {
  Dataset d;
  d.features = Matrix::Zero(n, 1);
  d.labels = Vector(n);
  d.classes = classes;
  for (int i = 0; i < n; ++i) d.labels(i) = i % classes;
  return d;
}

void expect_exact_cover(const std::vector<std::vector<int>>& parts, int n) {
  std::vector<int> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  std::sort(all.begin(), all.end());
  std::vector<int> expected(static_cast<std::size_t>(n));
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected);
}

int classes_seen(const Dataset& d, const std::vector<int>& part) {
  std::set<int> seen;
  for (int r : part) seen.insert(static_cast<int>(d.labels(r)));
  return static_cast<int>(seen.size());
}
}  // namespace

TEST(Partition, ShardsGiveEachWorkerFewClasses) {
  const auto data = labelled(1000, 10);
  const auto parts = partition_rows(data, 10, {PartitionScheme::Shards, 2, 0}, 3);
  expect_exact_cover(parts, 1000);
  for (const auto& part : parts) {
    EXPECT_EQ(part.size(), 100u);
    EXPECT_LE(classes_seen(data, part), 2);
  }
}

TEST(Partition, DirichletSkewGrowsAsAlphaShrinks) {
  const auto data = labelled(5000, 10);
  const auto skewed = partition_rows(data, 10, {PartitionScheme::Dirichlet, 2, 0.1}, 4);
  const auto mild = partition_rows(data, 10, {PartitionScheme::Dirichlet, 2, 100.0}, 4);
  expect_exact_cover(skewed, 5000);
  expect_exact_cover(mild, 5000);
  double skewed_classes = 0, mild_classes = 0;
  for (const auto& p : skewed) skewed_classes += classes_seen(data, p);
  for (const auto& p : mild) mild_classes += classes_seen(data, p);
  EXPECT_LT(skewed_classes / 10, 6.0);
  EXPECT_EQ(mild_classes / 10, 10.0);
  EXPECT_EQ(skewed, partition_rows(data, 10, {PartitionScheme::Dirichlet, 2, 0.1}, 4));  // deterministic
}

TEST(Partition, ClassHistogramCsv) {
  const auto data = labelled(6, 3);
  const auto csv = class_histogram_csv(data, {{0, 1, 2, 3}, {4, 5}});
  EXPECT_EQ(csv, "worker,rows,class_0,class_1,class_2\n0,4,2,1,1\n1,2,0,1,1\n");
}

TEST(Float32Storage, IdxAndLibsvmParseStraightIntoFloatAsACastWould) {
  TempDir dir;
  write_tiny_idx(dir, true);
  auto idx = load_idx(dir / "img", dir / "lab", 255.0);
  const auto idx32 = load_idx(dir / "img", dir / "lab", 255.0, Storage::Float32);
  idx.use_float32();
  ASSERT_TRUE(idx32.is_float32());
  EXPECT_TRUE(idx32.features_f32 == idx.features_f32);
  EXPECT_EQ(idx32.labels, idx.labels);
  write_text(dir / "d.svm", "+1 1:0.1 3:2\n-1 2:1e-3 # comment\n\n+1 3:-1.7\n");
  auto svm = load_libsvm(dir / "d.svm", 4);
  const auto svm32 = load_libsvm(dir / "d.svm", 4, Storage::Float32);
  svm.use_float32();
  EXPECT_TRUE(svm32.features_f32 == svm.features_f32);
  EXPECT_EQ(svm32.labels, svm.labels);
}

TEST(FashionMnist, Float32LoadEqualsTheFloat64LoadCast) {
  const std::filesystem::path dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir / "t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  auto test = load_idx(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz", 255.0);
  const auto test32 = load_idx(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz", 255.0, Storage::Float32);
  test.use_float32();
  EXPECT_TRUE(test32.features_f32 == test.features_f32);
  EXPECT_EQ(test32.labels, test.labels);
}

namespace {
long resident_kib() {
  long pages = 0, resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}
}  // namespace

// The loading peak: a float32 IDX set goes straight to its storage, without a float64 copy or the
// whole file's bytes beside it (a float64 load of the same file peaks at twice the bound).
// Measured in a child, against its resident size before loading.
TEST(Float32Storage, LoadingPeakStaysNearTheStoredData) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "AddressSanitizer's shadow memory and quarantine change the resident size";
#endif
  TempDir dir;
  const std::uint32_t n = 20000, side = 28;
  {
    std::string pixels(std::size_t{n} * side * side, '\0');
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>(i * 7 % 251);
    write_bytes(dir / "img.gz", be32(0x803) + be32(n) + be32(side) + be32(side) + pixels, true);
    write_bytes(dir / "lab", be32(0x801) + be32(n) + std::string(n, '\x03'), false);
  }
  const auto grown_kib = std::stol(testutil::in_child([&] {
    const long before = resident_kib();
    const auto data = load_idx(dir / "img.gz", dir / "lab", 255.0, Storage::Float32);
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return std::to_string(usage.ru_maxrss - before);
  }));
  const double data_kib = double{n} * side * side * sizeof(float) / 1024;
  EXPECT_GE(grown_kib, 0.9 * data_kib);  // the data was loaded
  EXPECT_LE(grown_kib, 1.2 * data_kib) << "loading peak " << grown_kib << " KiB for " << data_kib << " KiB of data";
}
