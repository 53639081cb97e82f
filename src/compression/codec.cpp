#include "compression/codec.hpp"

#include "util/rng.hpp"
#include "util/quote.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace dmlsim {

namespace {

struct FormatInfo {
  const char* name;
  ValueFormat format;
  std::uint64_t bits;
  bool scaled;  // carries one 32-bit per-tensor scale
};

constexpr std::array<FormatInfo, 6> kFormats{{{"fp64", ValueFormat::Fp64, 64, false},
                                              {"fp32", ValueFormat::Fp32, 32, false},
                                              {"fp16", ValueFormat::Fp16, 16, false},
                                              {"bf16", ValueFormat::Bf16, 16, false},
                                              {"int8", ValueFormat::Int8, 8, true},
                                              {"fp4", ValueFormat::Fp4, 4, true}}};

const FormatInfo& info(ValueFormat format) {
  for (const auto& f : kFormats)
    if (f.format == format) return f;
  return kFormats[0];
}

constexpr std::uint64_t kIndexBytes = 4;
constexpr std::uint64_t kScaleBytes = 4;

// Per-tensor scale so that the largest magnitude maps to the format's largest code, as float32.
double tensor_scale(const Vector& v, double largest_code) {
  const double max = v.size() ? v.cwiseAbs().maxCoeff() : 0.0;
  return static_cast<double>(static_cast<float>(max / largest_code));
}

void quantise_scaled(Vector& v, double largest_code, double (*round_code)(double)) {
  const double scale = tensor_scale(v, largest_code);
  if (scale == 0) {
    v.setZero();
    return;
  }
  for (auto& x : v) x = std::clamp(round_code(x / scale), -largest_code, largest_code) * scale;
}

double round_int(double x) { return std::nearbyint(x); }

}  // namespace

ValueFormat value_format(const std::string& name) {
  for (const auto& f : kFormats)
    if (name == f.name) return f.format;
  throw std::invalid_argument("unknown number format " + quote_input(name) + " (fp64, fp32, fp16, bf16, int8, fp4)");
}

std::string format_name(ValueFormat format) { return info(format).name; }

Sparsifier sparsifier(const std::string& name) {
  if (name == "none") return Sparsifier::None;
  if (name == "top-k") return Sparsifier::TopK;
  if (name == "random-k") return Sparsifier::RandomK;
  throw std::invalid_argument("unknown sparsifier " + quote_input(name) + " (none, top-k, random-k)");
}

std::string sparsifier_name(Sparsifier sparsify) {
  return sparsify == Sparsifier::TopK ? "top-k" : sparsify == Sparsifier::RandomK ? "random-k" : "none";
}

std::uint64_t CompressionSpec::payload_bytes(std::uint64_t parameters, std::uint64_t total) const {
  const auto& f = info(format);
  std::uint64_t values = parameters;
  std::uint64_t index_bytes = 0;
  if (sparsify != Sparsifier::None && total > 0) {
    // This message's share of the k kept values, rounded up (the whole vector: exactly k).
    __extension__ using u128 = unsigned __int128;  // k × parameters overflows 64 bits on 100B-parameter profiles
    values = static_cast<std::uint64_t>((static_cast<u128>(k) * parameters + total - 1) / total);
    index_bytes = values * kIndexBytes;
  }
  return (values * f.bits + 7) / 8 + index_bytes + (f.scaled ? kScaleBytes : 0);
}

double round_to_float(double x, int mantissa_bits, int min_exponent, double max_finite) {
  if (x == 0 || !std::isfinite(x)) return x;
  const int exponent = std::max(std::ilogb(x), min_exponent);  // subnormals share the smallest spacing
  const double spacing = std::ldexp(1.0, exponent - mantissa_bits);
  const double rounded = std::nearbyint(x / spacing) * spacing;  // ties to even (default rounding mode)
  if (std::abs(rounded) > max_finite) return std::copysign(std::numeric_limits<double>::infinity(), x);
  return rounded;
}

double round_to_e2m1(double x) {
  static constexpr std::array<double, 8> kGrid{0, 0.5, 1, 1.5, 2, 3, 4, 6};
  const double a = std::abs(x);
  std::size_t best = 0;
  for (std::size_t i = 1; i < kGrid.size(); ++i) {
    const double d = std::abs(a - kGrid[i]), best_d = std::abs(a - kGrid[best]);
    if (d < best_d || (d == best_d && i % 2 == 0)) best = i;  // ties to the even code (mantissa bit 0)
  }
  return std::copysign(kGrid[best], x);
}

void quantise(ValueFormat format, Vector& v) {
  switch (format) {
    case ValueFormat::Fp64: return;
    case ValueFormat::Fp32:
      for (auto& x : v) x = static_cast<double>(static_cast<float>(x));
      return;
    case ValueFormat::Fp16:
      for (auto& x : v) x = round_to_float(x, 10, -14, 65504.0);
      return;
    case ValueFormat::Bf16:
      for (auto& x : v) x = round_to_float(x, 7, -126, 0x1.fep127);
      return;
    case ValueFormat::Int8: return quantise_scaled(v, 127.0, round_int);
    case ValueFormat::Fp4: return quantise_scaled(v, 6.0, round_to_e2m1);
  }
}

std::vector<Eigen::Index> Compressor::chosen(const Vector& v, std::uint64_t message) const {
  const auto n = v.size();
  const auto k = static_cast<Eigen::Index>(std::min<std::uint64_t>(spec_.k, static_cast<std::uint64_t>(n)));
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  if (spec_.sparsify == Sparsifier::TopK) {
    // Largest magnitudes first; equal magnitudes by index, so the choice is deterministic.
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](Eigen::Index a, Eigen::Index b) {
      const double x = std::abs(v[a]), y = std::abs(v[b]);
      return x > y || (x == y && a < b);
    });
  } else {
    Rng rng(mix64(key_ ^ mix64(message)));
    for (Eigen::Index i = 0; i < k; ++i)  // the first k of a Fisher–Yates shuffle
      std::swap(order[static_cast<std::size_t>(i)],
                order[static_cast<std::size_t>(i) + rng.below(static_cast<std::uint64_t>(n - i))]);
  }
  order.resize(static_cast<std::size_t>(k));
  std::sort(order.begin(), order.end());
  return order;
}

Vector Compressor::transmit(const Vector& v, std::uint64_t message) {
  if (spec_.sparsify == Sparsifier::None) {
    Vector sent = v;
    quantise(spec_.format, sent);
    return sent;
  }
  if (error_.size() != v.size() || !error_feedback_) error_ = Vector::Zero(v.size());
  const Vector target = v + error_;
  const auto kept = chosen(target, message);
  Vector values(static_cast<Eigen::Index>(kept.size()));
  for (std::size_t i = 0; i < kept.size(); ++i) values[static_cast<Eigen::Index>(i)] = target[kept[i]];
  quantise(spec_.format, values);  // the scale covers the kept values only
  Vector sent = Vector::Zero(v.size());
  for (std::size_t i = 0; i < kept.size(); ++i) sent[kept[i]] = values[static_cast<Eigen::Index>(i)];
  error_ = target - sent;
  return sent;
}

}  // namespace dmlsim
