#include "scenario/factor_table.hpp"

#include "util/quote.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <sstream>
#include <stdexcept>

namespace dmlsim {

namespace {

// The row at or below `latency` and the row above it with the weight of the latter, or one row
// (weight 0) outside the table's range.
struct Bracket {
  const FactorRow* low;
  const FactorRow* high;
  double weight;
};

Bracket bracket(const std::vector<FactorRow>& rows, double latency) {
  if (latency <= rows.front().latency) return {&rows.front(), &rows.front(), 0};
  for (std::size_t i = 1; i < rows.size(); ++i)
    if (latency < rows[i].latency)
      return {&rows[i - 1], &rows[i], (latency - rows[i - 1].latency) / (rows[i].latency - rows[i - 1].latency)};
  return {&rows.back(), &rows.back(), 0};
}

}  // namespace

double lone_flow_rate(double latency, double bandwidth, double window) {
  return window > 0 && latency > 0 ? std::min(bandwidth, window / (2 * latency)) : bandwidth;
}

std::size_t PiecewiseFactor::bucket(double bytes) const {
  std::size_t i = 0;
  while (i + 1 < threshold.size() && bytes > static_cast<double>(threshold[i + 1])) ++i;
  return i;
}

PiecewiseFactor parse_piecewise(const std::string& text) {
  PiecewiseFactor f;
  std::istringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ';')) {
    const auto colon = part.find(':');
    if (colon == std::string::npos)
      throw std::invalid_argument(fmt::format("{} is not size:factor (e.g. \"0:1.0;65536:1.4\")", quote_input(part)));
    long size = 0;
    double value = 0;
    try {
      std::size_t end = 0;
      size = std::stol(part.substr(0, colon), &end);
      if (end != colon) throw std::invalid_argument("size");
      const auto rest = part.substr(colon + 1);
      value = std::stod(rest, &end);
      if (end != rest.size()) throw std::invalid_argument("factor");
    } catch (const std::exception&) {
      throw std::invalid_argument(fmt::format("{} is not size:factor (e.g. \"0:1.0;65536:1.4\")", quote_input(part)));
    }
    if (f.threshold.empty() ? size != 0 : size <= f.threshold.back())
      throw std::invalid_argument(fmt::format("sizes must start at 0 and ascend ({})", quote_input(part)));
    if (!(value >= 0 && std::isfinite(value)))
      throw std::invalid_argument(fmt::format("factor {} must not be negative ({})", value, quote_input(part)));
    f.threshold.push_back(size);
    f.value.push_back(value);
  }
  if (f.threshold.empty()) throw std::invalid_argument("no size:factor entries");
  return f;
}

std::string to_string(const PiecewiseFactor& factor) {
  std::string text;
  for (std::size_t i = 0; i < factor.threshold.size(); ++i)
    text += fmt::format("{}{}:{:.6g}", i ? ";" : "", factor.threshold[i], factor.value[i]);
  return text;
}

double FactorTable::latency_factor(double bytes, double route_latency) const {
  if (rows.empty()) return 1.0;
  const auto [low, high, w] = bracket(rows, route_latency);
  if (w == 0) return low->latency_factor.at(bytes);
  const double effective = (1 - w) * low->latency * low->latency_factor.at(bytes) +
                           w * high->latency * high->latency_factor.at(bytes);
  return effective / route_latency;
}

double FactorTable::bandwidth_factor(double bytes, double route_latency, double route_bandwidth) const {
  if (rows.empty()) return 1.0;
  const auto [low, high, w] = bracket(rows, route_latency);
  if (w == 0 || !(route_bandwidth > 0 && std::isfinite(route_bandwidth))) return low->bandwidth_factor.at(bytes);
  const auto per_byte = [&](const FactorRow& r) {
    return 1 / (r.bandwidth_factor.at(bytes) * lone_flow_rate(r.latency, route_bandwidth, window));
  };
  const double interpolated = (1 - w) * per_byte(*low) + w * per_byte(*high);
  return 1 / (interpolated * lone_flow_rate(route_latency, route_bandwidth, window));
}

}  // namespace dmlsim
