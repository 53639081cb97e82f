#include "calibrate/round_model.hpp"

#include "util/quote.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace dmlsim::calibrate {

namespace {

struct Fit {
  double lat = 1;
  double inverse_bw = 1;
};

// Rows r_j: (2L/T, 2S/(R T)) . (a, x) = (T - gap)/T, i.e. relative residuals.
// One path, no window cap: the rate is the path's bandwidth.
Fit fit_bucket(const std::vector<Observation>& obs, double gap) {
  double uu = 0, uv = 0, vv = 0, uy = 0, vy = 0;
  for (const auto& o : obs) {
    const double u = 2 * o.latency / o.time, v = 2 * o.bytes / (o.bandwidth * o.time), y = (o.time - gap) / o.time;
    uu += u * u, uv += u * v, vv += v * v, uy += u * y, vy += v * y;
  }
  const double det = uu * vv - uv * uv;
  Fit fit;
  if (det > 1e-9 * uu * vv) {
    fit.lat = (uy * vv - vy * uv) / det;
    fit.inverse_bw = (vy * uu - uy * uv) / det;
    if (fit.lat >= 0 && fit.inverse_bw >= 1) return fit;
  }
  // Not separable, a factor came out negative, or faster than the link: keep bw-factor 1 and fit
  // the latency factor.
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

std::vector<Observation> with_bytes(const std::vector<Observation>& observations, double bytes) {
  std::vector<Observation> out;
  for (const auto& o : observations)
    if (o.bytes == bytes) out.push_back(o);
  return out;
}

// One bucket per distinct size, split at the geometric mean of neighbouring sizes.
std::vector<long> bucket_thresholds(const std::vector<double>& sizes) {
  std::vector<long> threshold;
  for (std::size_t i = 0; i < sizes.size(); ++i)
    threshold.push_back(i == 0 ? 0 : static_cast<long>(std::floor(std::sqrt(sizes[i - 1] * sizes[i]))));
  return threshold;
}

// One path (a single probe): one row, least squares per bucket, no window cap.
Factors fit_one_path(const std::vector<Observation>& observations, const std::vector<double>& sizes, double gap) {
  std::vector<double> latency, bandwidth;
  for (double size : sizes) {
    const auto fit = fit_bucket(with_bytes(observations, size), gap);
    latency.push_back(fit.lat);
    bandwidth.push_back(1 / fit.inverse_bw);
  }
  auto f = size_only_factors(bucket_thresholds(sizes), latency, bandwidth, 0);
  f.rows.front().latency = observations.front().latency;
  return f;
}

// The TCP window (TCP-gamma: 0 = none, or 16 KiB-64 MiB) under which plain CM02 (every factor 1)
// is closest to the rounds (least squares of the log ratios), among those large enough that no
// round is shorter than its two transfers at the window's rate.
double best_window(const std::vector<Observation>& observations, double gap) {
  double needed = 0;
  for (const auto& o : observations) needed = std::max(needed, 4 * o.latency * o.bytes / (o.time - gap));
  const auto cost = [&](double gamma) {
    const auto plain = size_only_factors({0}, {1}, {1}, gamma);
    double sum = 0;
    for (const auto& o : observations) sum += std::pow(std::log(round_time(plain, o.latency, o.bandwidth, o.bytes, gap) / o.time), 2);
    return sum;
  };
  double best = 0, best_cost = cost(0);
  for (double log2_gamma = 14; log2_gamma <= 26; log2_gamma += 1.0 / 32) {
    const double gamma = std::round(std::exp2(log2_gamma));
    if (gamma < needed) continue;
    const double c = cost(gamma);
    if (c < best_cost) best = gamma, best_cost = c;
  }
  return best;
}

// The cell's (latency factor, bandwidth factor) that reproduce its round `o` exactly, starting from
// (lat, bw): the factor of the larger term (latency or transfer) absorbs the difference, the
// smaller relative correction, so slow start shows up as extra round trips where latency
// dominates and as lost throughput where the transfer does.
std::pair<double, double> refit_cell(const Observation& o, double gap, double gamma, double lat, double bw) {
  const double rate = lone_flow_rate(o.latency, o.bandwidth, gamma);
  const double latency_term = 2 * o.latency * lat, transfer_term = 2 * o.bytes / (bw * rate);
  const double y = o.time - gap;
  const double new_lat = o.latency > 0 ? (y - transfer_term) / (2 * o.latency) : -1;
  const double new_bw = y > latency_term ? 2 * o.bytes / (rate * (y - latency_term)) : -1;
  const auto change = [](double from, double to) { return std::abs(std::log(to / from)); };
  const bool lat_ok = new_lat > 0 && lat > 0, bw_ok = new_bw > 0 && new_bw <= 1;  // no flow outruns its link
  if (lat_ok && (!bw_ok || change(lat, new_lat) <= change(bw, new_bw))) return {new_lat, bw};
  if (bw_ok) return {lat, new_bw};
  // Faster than the shared factors allow on both counts: the link's full rate, and what remains
  // of the round as latency.
  const double full_rate_transfer = 2 * o.bytes / rate;
  return {o.latency > 0 ? std::max(y - full_rate_transfer, 0.0) / (2 * o.latency) : lat, 1.0};
}

// One row per distinct latency: `base`, each cell refitted to that latency's round.
Factors rows_per_latency(const Factors& base_factors, const std::vector<Observation>& observations,
                         const std::vector<double>& sizes, double gap) {
  std::vector<double> latencies;
  for (const auto& o : observations) latencies.push_back(o.latency);
  std::sort(latencies.begin(), latencies.end());
  latencies.erase(std::unique(latencies.begin(), latencies.end()), latencies.end());
  Factors f;
  f.window = base_factors.window;
  const auto& base = base_factors.rows.front();
  for (double latency : latencies) {
    FactorRow row = base;
    row.latency = latency;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      std::vector<Observation> cell;
      for (const auto& o : with_bytes(observations, sizes[i]))
        if (o.latency == latency) cell.push_back(o);
      if (cell.empty()) continue;
      // Several rounds of one size on one latency (several probes): fit their median.
      std::sort(cell.begin(), cell.end(), [](const auto& x, const auto& y) { return x.time < y.time; });
      const auto [lat, bw] = refit_cell(cell[cell.size() / 2], gap, base_factors.window, base.latency_factor.value[i],
                                        base.bandwidth_factor.value[i]);
      row.latency_factor.value[i] = lat;
      row.bandwidth_factor.value[i] = bw;
    }
    f.rows.push_back(row);
  }
  return f;
}

}  // namespace

Factors size_only_factors(const std::vector<long>& threshold, const std::vector<double>& latency,
                          const std::vector<double>& bandwidth, double gamma) {
  FactorRow row;
  row.latency_factor = {threshold, latency};
  row.bandwidth_factor = {threshold, bandwidth};
  Factors f;
  f.rows = {row};
  f.window = gamma;
  return f;
}

double round_time(const Factors& f, double latency, double bandwidth, double bytes, double gap) {
  const double lat = f.latency_factor(bytes, latency), bw = f.bandwidth_factor(bytes, latency, bandwidth);
  return gap + 2 * (latency * lat + bytes / (bw * lone_flow_rate(latency, bandwidth, f.window)));
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
  if (!several_latencies(observations)) return fit_one_path(observations, sizes, gap);
  const std::vector<double> ones(sizes.size(), 1.0);
  const auto plain = size_only_factors(bucket_thresholds(sizes), ones, ones, best_window(observations, gap));
  return rows_per_latency(plain, observations, sizes, gap);
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
      throw std::invalid_argument(fmt::format("{} is not a size (e.g. 248, 64KiB, 1MB)", quote_input(part)));
    }
    std::string unit = part.substr(end);
    if (!unit.empty() && unit.back() == 'B') unit.pop_back();
    const double scale = unit == "" ? 1 : unit == "k" || unit == "K" ? 1e3 : unit == "M" ? 1e6 : unit == "G" ? 1e9
                       : unit == "Ki" ? 1024.0 : unit == "Mi" ? 1048576.0 : unit == "Gi" ? 1073741824.0 : -1;
    if (scale < 0) throw std::invalid_argument(fmt::format("{}: unknown size unit", quote_input(part)));
    value *= scale;
    if (!(value >= 1 && value <= 1e9)) throw std::invalid_argument(fmt::format("{} must be 1 B to 1 GB", quote_input(part)));
    sizes.push_back(std::round(value));
  }
  if (sizes.empty()) throw std::invalid_argument("no sizes given");
  return sizes;
}

}  // namespace dmlsim::calibrate
