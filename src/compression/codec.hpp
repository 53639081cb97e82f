// Payload compression as pure maths: what a message of a parameter vector looks like on the wire
// and what its receiver reconstructs. Values are quantised to a number format (fp64 = as is,
// fp32, fp16, bf16, int8 with one per-tensor scale, fp4 e2m1 with one per-tensor scale), and
// optionally sparsified (top-k by magnitude, or random-k) with error feedback: the sender keeps
// e <- (v + e) - sent and adds it to its next payload. Bytes on the wire are exact: values at the
// format's width, a 32-bit index per kept value when sparsified, a 32-bit float scale for int8 and
// fp4. No SimGrid here.
#pragma once

#include "model/model.hpp"

#include <cstdint>
#include <string>

namespace dmlsim {

enum class ValueFormat { Fp64, Fp32, Fp16, Bf16, Int8, Fp4 };
enum class Sparsifier { None, TopK, RandomK };

// "fp64", "fp32", "fp16", "bf16", "int8", "fp4"; throws std::invalid_argument otherwise.
ValueFormat value_format(const std::string& name);
std::string format_name(ValueFormat format);
Sparsifier sparsifier(const std::string& name);  // "none", "top-k", "random-k"
std::string sparsifier_name(Sparsifier sparsify);

struct CompressionSpec {
  ValueFormat format = ValueFormat::Fp64;
  Sparsifier sparsify = Sparsifier::None;
  std::uint64_t k = 0;  // values kept per whole vector when sparsified

  // No transform at all: fp64 values, not sparsified.
  bool identity() const { return format == ValueFormat::Fp64 && sparsify == Sparsifier::None; }
  // The receiver sees exactly what was sent (fp64 values, all of a vector of `total` kept); the
  // bytes may still differ (indices).
  bool lossless(std::uint64_t total) const {
    return format == ValueFormat::Fp64 && (sparsify == Sparsifier::None || k >= total);
  }
  // Exact bytes of the payload of `parameters` values out of a vector of `total` (a ring chunk
  // carries its share of the k kept values, rounded up). Without a header.
  std::uint64_t payload_bytes(std::uint64_t parameters, std::uint64_t total) const;
};

// Rounds every value of v in place as its receiver sees it after transport in `format` (int8 and
// fp4 with one per-tensor scale max|v| / 127 or / 6, itself rounded to float32).
void quantise(ValueFormat format, Vector& v);
// Round to nearest, ties to even, of x to a binary float with `mantissa_bits` stored bits, minimum
// normal exponent `min_exponent` and largest finite value `max_finite` (beyond: ±inf).
double round_to_float(double x, int mantissa_bits, int min_exponent, double max_finite);
double round_to_e2m1(double x);  // to the grid {0, 0.5, 1, 1.5, 2, 3, 4, 6} with its sign, ties to even

// One sender's compressor: its error-feedback memory (when sparsified and asked for) and its random
// stream (random-k).
class Compressor {
 public:
  Compressor(CompressionSpec spec, std::uint64_t key, bool error_feedback = true)
      : spec_(spec), key_(key), error_feedback_(error_feedback) {}
  // The values the receiver reconstructs from the message that carries v (index `message` picks
  // the random-k draw).
  Vector transmit(const Vector& v, std::uint64_t message);
  const Vector& error() const { return error_; }

 private:
  std::vector<Eigen::Index> chosen(const Vector& v, std::uint64_t message) const;
  CompressionSpec spec_;
  std::uint64_t key_;
  bool error_feedback_;
  Vector error_;
};

}  // namespace dmlsim
