// Deterministic random numbers. Every random draw in dmlsim comes from a stream derived from the
// scenario's seed and a fixed tuple (purpose, worker, round, step), so a batch does not depend on
// the order in which actors happen to run, and two algorithms that draw "the same" batch
// (e.g. MA with M = 1 and SSGD) really draw the same rows.
#pragma once

#include <cstdint>
#include <cmath>
#include <initializer_list>
#include <numeric>
#include <vector>

namespace dmlsim {

// SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Names the independent random streams of a run.
enum class Stream : std::uint64_t { Init = 1, Batch = 2, Split = 3, Partition = 4, BmufDelta = 5, WorkerInit = 6, ClientSample = 7,
                                        Background = 8, Failures = 12, GossipPartner = 20, Slowdown = 21 };

// Folds a seed and a path of integers into one stream key.
inline std::uint64_t derive_key(std::uint64_t seed, Stream stream, std::initializer_list<std::uint64_t> path = {}) {
  std::uint64_t key = mix64(seed ^ mix64(static_cast<std::uint64_t>(stream)));
  for (std::uint64_t p : path) key = mix64(key ^ mix64(p + 0x632be59bd9b4e019ULL));
  return key;
}

// xoshiro256** (Blackman & Vigna 2018), seeded through SplitMix64. Small, fast, and its output
// is fully specified, unlike std::uniform_real_distribution whose algorithm varies by library.
class Rng {
 public:
  explicit Rng(std::uint64_t key) {
    for (auto& word : s_) {
      key += 0x9e3779b97f4a7c15ULL;
      word = mix64(key);
    }
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; bias below 2^-64 * n).
  std::uint64_t below(std::uint64_t n) {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<u128>(next()) * n) >> 64);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

// A uniformly random permutation of 0 … n-1 (Fisher–Yates).
inline std::vector<int> random_permutation(int n, std::uint64_t key) {
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(key);
  for (int i = n - 1; i > 0; --i) std::swap(order[static_cast<std::size_t>(i)], order[rng.below(static_cast<std::uint64_t>(i) + 1)]);
  return order;
}

// Standard normal (Box–Muller; one of the pair is dropped to keep the draw a pure function of state).
inline double standard_normal(Rng& rng) {
  const double u1 = 1.0 - rng.uniform();  // (0, 1]
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 through the boost Gamma(shape+1)·U^(1/shape).
inline double gamma_variate(Rng& rng, double shape) {
  if (shape < 1.0) return gamma_variate(rng, shape + 1.0) * std::pow(1.0 - rng.uniform(), 1.0 / shape);
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = 0, v = 0;
    do {
      x = standard_normal(rng);
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = 1.0 - rng.uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

}  // namespace dmlsim
