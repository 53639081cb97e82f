// The compression maths (src/compression/codec) and the optimisers (src/algorithms/optimizers):
// rounding to each number format, round-trip error bounds, exact bytes on the wire, top-k /
// random-k with error feedback, and single optimiser steps against hand-computed values.
#include "algorithms/optimizers.hpp"
#include "compression/codec.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <limits>

using namespace dmlsim;

namespace {

Vector ramp(Eigen::Index n) {  // signed values of many magnitudes
  Vector v(n);
  for (Eigen::Index i = 0; i < n; ++i) v(i) = std::sin(1.7 * static_cast<double>(i) + 0.3) * std::pow(1.3, static_cast<double>(i % 17));
  return v;
}

CompressionSpec spec(ValueFormat format, Sparsifier sparsify = Sparsifier::None, std::uint64_t k = 0) {
  return {format, sparsify, k};
}

}  // namespace

TEST(NumberFormats, HalfPrecisionRoundsToNearestEvenAndOverflowsToInfinity) {
  const auto fp16 = [](double x) { return round_to_float(x, 10, -14, 65504.0); };
  EXPECT_EQ(fp16(1.0), 1.0);
  EXPECT_EQ(fp16(1.0 / 3.0), 0.333251953125);
  EXPECT_EQ(fp16(1.0 + std::ldexp(1.0, -11)), 1.0);                          // tie: to even
  EXPECT_EQ(fp16(1.0 + 3 * std::ldexp(1.0, -11)), 1.0 + std::ldexp(1.0, -9));  // tie: to even, upwards
  EXPECT_EQ(fp16(65504.0), 65504.0);
  EXPECT_TRUE(std::isinf(fp16(65520.0)));
  EXPECT_EQ(fp16(std::ldexp(1.0, -24)), std::ldexp(1.0, -24));  // smallest subnormal
  EXPECT_EQ(fp16(std::ldexp(1.0, -26)), 0.0);
  EXPECT_EQ(fp16(-2.5), -2.5);
}

TEST(NumberFormats, Bf16KeepsEightSignificantBitsAndFp32IsTheCast) {
  Vector v = ramp(200);
  Vector b = v, f = v;
  quantise(ValueFormat::Bf16, b);
  quantise(ValueFormat::Fp32, f);
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    EXPECT_LE(std::abs(b(i) - v(i)), std::ldexp(std::abs(v(i)), -8));
    EXPECT_EQ(f(i), static_cast<double>(static_cast<float>(v(i))));
    EXPECT_EQ(static_cast<double>(static_cast<float>(b(i))), b(i));  // bf16 values are floats
  }
}

TEST(NumberFormats, E2m1GridWithTiesToEven) {
  EXPECT_EQ(round_to_e2m1(0.2), 0.0);
  EXPECT_EQ(round_to_e2m1(0.25), 0.0);   // tie between 0 and 0.5: even code 0
  EXPECT_EQ(round_to_e2m1(0.75), 1.0);   // tie between 0.5 and 1: even code 1
  EXPECT_EQ(round_to_e2m1(2.5), 2.0);    // tie between 2 and 3
  EXPECT_EQ(round_to_e2m1(3.5), 4.0);    // tie between 3 and 4
  EXPECT_EQ(round_to_e2m1(5.0), 4.0);    // tie between 4 and 6
  EXPECT_EQ(round_to_e2m1(-5.2), -6.0);
  EXPECT_EQ(round_to_e2m1(100.0), 6.0);
}

TEST(NumberFormats, ScaledFormatsStayWithinHalfAStepOfTheirScale) {
  const Vector v = ramp(300);
  const double max = v.cwiseAbs().maxCoeff();
  Vector q8 = v, q4 = v;
  quantise(ValueFormat::Int8, q8);
  quantise(ValueFormat::Fp4, q4);
  const double scale8 = static_cast<float>(max / 127), scale4 = static_cast<float>(max / 6);
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    EXPECT_LE(std::abs(q8(i) - v(i)), 0.5 * scale8 * (1 + 1e-6));
    EXPECT_LE(std::abs(q4(i) - v(i)), 1.0 * scale4 * (1 + 1e-6));  // the widest e2m1 step is 2
    EXPECT_EQ(q8(i) / scale8, std::nearbyint(q8(i) / scale8));      // an integer code
  }
  Vector zero = Vector::Zero(5);
  quantise(ValueFormat::Int8, zero);
  EXPECT_EQ(zero, Vector::Zero(5));
}

TEST(WireBytes, ValuesIndicesAndScalesExactly) {
  EXPECT_EQ(spec(ValueFormat::Fp64).payload_bytes(1000, 1000), 8000u);
  EXPECT_EQ(spec(ValueFormat::Fp32).payload_bytes(1000, 1000), 4000u);
  EXPECT_EQ(spec(ValueFormat::Fp16).payload_bytes(1000, 1000), 2000u);
  EXPECT_EQ(spec(ValueFormat::Bf16).payload_bytes(1000, 1000), 2000u);
  EXPECT_EQ(spec(ValueFormat::Int8).payload_bytes(1000, 1000), 1004u);
  EXPECT_EQ(spec(ValueFormat::Fp4).payload_bytes(1001, 1001), 501u + 4u);
  EXPECT_EQ(spec(ValueFormat::Fp64, Sparsifier::TopK, 10).payload_bytes(1000, 1000), 10u * (8 + 4));
  EXPECT_EQ(spec(ValueFormat::Int8, Sparsifier::RandomK, 10).payload_bytes(1000, 1000), 10u * (1 + 4) + 4);
  // A chunk carries its share of the k values, rounded up; a model profile scales k with it.
  EXPECT_EQ(spec(ValueFormat::Fp64, Sparsifier::TopK, 10).payload_bytes(250, 1000), 3u * 12);
  EXPECT_EQ(spec(ValueFormat::Fp64, Sparsifier::TopK, 10).payload_bytes(100'000'000'000ull, 1000), 1'000'000'000ull * 12);
}

TEST(Sparsify, TopKSendsTheLargestAndFeedsTheRestBack) {
  Compressor top(spec(ValueFormat::Fp64, Sparsifier::TopK, 2), 1);
  const Vector v = (Vector(5) << 0.1, -3.0, 0.5, 2.0, -0.2).finished();
  const Vector sent = top.transmit(v, 0);
  EXPECT_EQ(sent, (Vector(5) << 0, -3.0, 0, 2.0, 0).finished());
  EXPECT_EQ(top.error(), (Vector(5) << 0.1, 0, 0.5, 0, -0.2).finished());
  // Next message: v + e, so 0.5 + 0.5 = 1 now beats 0.1 + 0.1.
  const Vector again = top.transmit(Vector::Constant(5, 0.0) + (Vector(5) << 0.1, 0, 0.5, 0, 0).finished(), 1);
  EXPECT_EQ(again, (Vector(5) << 0.2, 0, 1.0, 0, 0).finished());
  EXPECT_EQ(top.error(), (Vector(5) << 0, 0, 0, 0, -0.2).finished());
}

TEST(Sparsify, SentPlusErrorIsAlwaysTheInputPlusThePreviousError) {
  for (auto kind : {Sparsifier::TopK, Sparsifier::RandomK}) {
    Compressor c(spec(ValueFormat::Int8, kind, 7), 42);
    Vector previous = Vector::Zero(40);
    for (int m = 0; m < 5; ++m) {
      const Vector v = ramp(40) * (m + 1);
      const Vector sent = c.transmit(v, static_cast<std::uint64_t>(m));
      EXPECT_EQ((sent.array() != 0).count(), 7);
      EXPECT_LT((sent + c.error() - (v + previous)).norm(), 1e-12 * v.norm());
      previous = c.error();
    }
  }
}

TEST(Sparsify, RandomKIsAPureFunctionOfKeyAndMessage) {
  Compressor a(spec(ValueFormat::Fp64, Sparsifier::RandomK, 5), 7), b(spec(ValueFormat::Fp64, Sparsifier::RandomK, 5), 7),
      c(spec(ValueFormat::Fp64, Sparsifier::RandomK, 5), 8);
  const Vector v = ramp(50);
  const Vector from_a = a.transmit(v, 3);
  EXPECT_EQ(from_a, b.transmit(v, 3));
  EXPECT_NE(from_a, c.transmit(v, 3));
}

TEST(Sparsify, KEqualToTheSizeIsTheIdentityBitForBit) {
  Compressor all(spec(ValueFormat::Fp64, Sparsifier::TopK, 64), 1);
  const Vector v = ramp(64);
  EXPECT_EQ(all.transmit(v, 0), v);
  EXPECT_EQ(all.error(), Vector::Zero(64));
  EXPECT_TRUE(spec(ValueFormat::Fp64, Sparsifier::TopK, 64).lossless(64));
  EXPECT_TRUE(spec(ValueFormat::Fp64).lossless(64));
  EXPECT_FALSE(spec(ValueFormat::Fp64, Sparsifier::TopK, 63).lossless(64));
  EXPECT_FALSE(spec(ValueFormat::Fp32).lossless(64));
}

TEST(Names, UnknownFormatsAndOptimisersAreRejected) {
  EXPECT_EQ(value_format("fp4"), ValueFormat::Fp4);
  EXPECT_EQ(format_name(ValueFormat::Bf16), "bf16");
  EXPECT_THROW(value_format("fp8"), std::invalid_argument);
  EXPECT_THROW(sparsifier("top-p"), std::invalid_argument);
  EXPECT_EQ(optimizer_kind("adamw"), OptimizerKind::AdamW);
  EXPECT_THROW(optimizer_kind("lamb"), std::invalid_argument);
}

TEST(Optimizers, StepsMatchTheirFormulas) {
  const Vector g = (Vector(2) << 1.0, -2.0).finished();
  OptimizerSpec s;
  s.lr = 0.5;
  s.momentum = 0.9;

  s.kind = OptimizerKind::Momentum;  // m = g, then 0.9 g + g
  Optimizer heavy(s);
  Vector w = Vector::Zero(2);
  heavy.step(w, g);
  heavy.step(w, g);
  EXPECT_LT((w - (-0.5 * (1.0 + 1.9) * g)).norm(), 1e-15);

  s.kind = OptimizerKind::Nesterov;  // w -= lr (g + mu m), m = g after the first step
  Optimizer nesterov(s);
  w.setZero();
  nesterov.step(w, g);
  EXPECT_LT((w - (-0.5 * 1.9 * g)).norm(), 1e-15);

  s.kind = OptimizerKind::Adam;  // the first bias-corrected step is lr · g / (|g| + eps)
  s.epsilon = 1e-8;
  Optimizer adam(s);
  w.setZero();
  adam.step(w, g);
  EXPECT_NEAR(w(0), -0.5 / (1 + 1e-8), 1e-15);
  EXPECT_NEAR(w(1), 0.5 * 2 / (2 + 1e-8), 1e-15);

  s.kind = OptimizerKind::AdamW;  // decoupled decay first: w (1 - lr wd), then the Adam step
  s.weight_decay = 0.1;
  Optimizer adamw(s);
  w = Vector::Constant(2, 1.0);
  adamw.step(w, g);
  EXPECT_NEAR(w(0), 0.95 - 0.5 / (1 + 1e-8), 1e-15);
  adamw.reset();
  Vector fresh = Vector::Constant(2, 1.0);
  adamw.step(fresh, g);  // after reset, the first step again
  EXPECT_NEAR(fresh(0), 0.95 - 0.5 / (1 + 1e-8), 1e-15);
}
