#include "calibrate/round_model.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <sstream>
#include <stdexcept>

namespace dmlsim::calibrate {

namespace {

std::size_t bucket_of(const Factors& f, double bytes) {
  std::size_t i = 0;
  while (i + 1 < f.threshold.size() && bytes > static_cast<double>(f.threshold[i + 1])) ++i;
  return i;
}

struct Fit {
  double lat = 1;
  double inverse_bw = 1;
};

// The rate SimGrid gives a lone flow before the bandwidth factor: the link's, or the window cap's.
double capped_rate(double latency, double bandwidth, double gamma) {
  return gamma > 0 && latency > 0 ? std::min(bandwidth, gamma / (2 * latency)) : bandwidth;
}

// Rows r_j: (2L/T, 2S/(R T)) . (a, x) = (T - gap)/T, i.e. relative residuals.
Fit fit_bucket(const std::vector<Observation>& obs, double gap, double gamma) {
  double uu = 0, uv = 0, vv = 0, uy = 0, vy = 0;
  for (const auto& o : obs) {
    const double rate = capped_rate(o.latency, o.bandwidth, gamma);
    const double u = 2 * o.latency / o.time, v = 2 * o.bytes / (rate * o.time), y = (o.time - gap) / o.time;
    uu += u * u, uv += u * v, vv += v * v, uy += u * y, vy += v * y;
  }
  const double det = uu * vv - uv * uv;
  Fit fit;
  if (det > 1e-9 * uu * vv) {
    fit.lat = (uy * vv - vy * uv) / det;
    fit.inverse_bw = (vy * uu - uy * uv) / det;
    if (fit.lat >= 0 && fit.inverse_bw > 0) return fit;
  }
  // Not separable, or a factor came out negative: keep bw-factor 1 and fit the latency factor.
  fit.inverse_bw = 1;
  fit.lat = uu > 0 ? (uy - uv * fit.inverse_bw) / uu : 0;
  if (fit.lat >= 0) return fit;
  // Faster than the path's bandwidth allows even with no latency: fit the bandwidth factor alone.
  fit.lat = 0;
  fit.inverse_bw = vv > 0 ? std::max(vy / vv, 1e-3) : 1;
  return fit;
}

bool several_latencies(const std::vector<Observation>& observations) {
  for (const auto& o : observations)
    if (std::abs(o.latency - observations.front().latency) > 1e-12) return true;
  return false;
}

// Minimises f over [lo, hi]; f must be convex.
template <typename F>
double ternary_min(F f, double lo, double hi) {
  for (int i = 0; i < 100; ++i) {
    const double m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
    if (f(m1) < f(m2)) hi = m2;
    else lo = m1;
  }
  return (lo + hi) / 2;
}

// With several latencies: the (a, x) that minimise the largest relative error of the bucket's
// rounds (the fidelity target is a bound on every cell). The error is convex in (a, x), so nested
// ternary searches find the optimum.
Fit fit_bucket_minimax(const std::vector<Observation>& obs, double gap, double gamma) {
  struct Row {
    double u, v, y;
  };
  std::vector<Row> rows;
  for (const auto& o : obs)
    rows.push_back({2 * o.latency / o.time, 2 * o.bytes / (capped_rate(o.latency, o.bandwidth, gamma) * o.time),
                    (o.time - gap) / o.time});
  const auto worst = [&](double a, double x) {
    double w = 0;
    for (const auto& r : rows) w = std::max(w, std::abs(r.u * a + r.v * x - r.y));
    return w;
  };
  const auto best_x = [&](double a) { return ternary_min([&](double x) { return worst(a, x); }, 1e-3, 100); };
  Fit fit;
  fit.lat = ternary_min([&](double a) { return worst(a, best_x(a)); }, 0, 100);
  fit.inverse_bw = best_x(fit.lat);
  return fit;
}

// Factors for one gamma: one bucket per distinct size.
Factors fit_with_gamma(const std::vector<Observation>& observations, const std::vector<double>& sizes, double gap,
                       double gamma) {
  Factors f;
  f.gamma = gamma;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    f.threshold.push_back(i == 0 ? 0 : static_cast<long>(std::floor(std::sqrt(sizes[i - 1] * sizes[i]))));
    std::vector<Observation> bucket;
    for (const auto& o : observations)
      if (o.bytes == sizes[i]) bucket.push_back(o);
    const auto fit = several_latencies(bucket) ? fit_bucket_minimax(bucket, gap, gamma) : fit_bucket(bucket, gap, gamma);
    f.latency.push_back(fit.lat);
    f.bandwidth.push_back(1 / fit.inverse_bw);
  }
  return f;
}


}  // namespace

double round_time(const Factors& f, double latency, double bandwidth, double bytes, double gap) {
  const auto i = bucket_of(f, bytes);
  return gap + 2 * (latency * f.latency[i] + bytes / (f.bandwidth[i] * capped_rate(latency, bandwidth, f.gamma)));
}

double worst_relative_error(const Factors& f, const std::vector<Observation>& observations, double gap) {
  double worst = 0;
  for (const auto& o : observations)
    worst = std::max(worst, std::abs(round_time(f, o.latency, o.bandwidth, o.bytes, gap) - o.time) / o.time);
  return worst;
}

Factors fit_factors(const std::vector<Observation>& observations, double gap) {
  std::vector<double> sizes;
  for (const auto& o : observations) sizes.push_back(o.bytes);
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  if (sizes.empty()) throw std::invalid_argument("no measurements to fit");
  Factors best = fit_with_gamma(observations, sizes, gap, 0);
  if (!several_latencies(observations)) return best;
  double best_error = worst_relative_error(best, observations, gap);
  for (double log2_gamma = 14; log2_gamma <= 26; log2_gamma += 1.0 / 32) {
    const auto f = fit_with_gamma(observations, sizes, gap, std::round(std::exp2(log2_gamma)));
    const double error = worst_relative_error(f, observations, gap);
    if (error < best_error) best = f, best_error = error;
  }
  return best;
}

std::string factor_string(const std::vector<long>& threshold, const std::vector<double>& values) {
  std::string text;
  for (std::size_t i = 0; i < threshold.size(); ++i)
    text += fmt::format("{}{}:{:.6g}", i ? ";" : "", threshold[i], values[i]);
  return text;
}

std::vector<double> parse_sizes(const std::string& text) {
  std::vector<double> sizes;
  std::istringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ',')) {
    std::size_t end = 0;
    double value = 0;
    try {
      value = std::stod(part, &end);
    } catch (const std::exception&) {
      throw std::invalid_argument(fmt::format("'{}' is not a size (e.g. 248, 64KiB, 1MB)", part));
    }
    std::string unit = part.substr(end);
    if (!unit.empty() && unit.back() == 'B') unit.pop_back();
    const double scale = unit == "" ? 1 : unit == "k" || unit == "K" ? 1e3 : unit == "M" ? 1e6 : unit == "G" ? 1e9
                       : unit == "Ki" ? 1024.0 : unit == "Mi" ? 1048576.0 : unit == "Gi" ? 1073741824.0 : -1;
    if (scale < 0) throw std::invalid_argument(fmt::format("'{}': unknown size unit", part));
    value *= scale;
    if (!(value >= 1 && value <= 1e9)) throw std::invalid_argument(fmt::format("'{}' must be 1 B to 1 GB", part));
    sizes.push_back(std::round(value));
  }
  if (sizes.empty()) throw std::invalid_argument("no sizes given");
  return sizes;
}

}  // namespace dmlsim::calibrate
