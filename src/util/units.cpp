#include "util/units.hpp"

#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <utility>
#include <vector>

namespace dmlsim {
namespace {

using UnitTable = std::vector<std::pair<const char*, double>>;

// Splits "12.5ms" into 12.5 and "ms"; the number part must be non-empty and finite.
std::pair<double, std::string> split_number_unit(const std::string& text) {
  if (text.empty()) throw std::invalid_argument("empty value");
  const char* begin = text.c_str();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (end == begin) throw std::invalid_argument("'" + text + "' does not start with a number");
  if (!std::isfinite(value)) throw std::invalid_argument("'" + text + "' is not finite");
  return {value, std::string(end)};
}

double parse_with_units(const std::string& text, const UnitTable& units, const char* what) {
  auto [value, unit] = split_number_unit(text);
  if (unit.empty()) return value;
  for (const auto& [name, factor] : units)
    if (unit == name) return value * factor;
  std::string known;
  for (const auto& entry : units) known += std::string(known.empty() ? "" : ", ") + entry.first;
  throw std::invalid_argument("unknown " + std::string(what) + " unit '" + unit + "' in '" + text + "' (known: " +
                              known + ")");
}

}  // namespace

double parse_time(const std::string& text) {
  static const UnitTable units = {{"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1.0},
                                  {"m", 60.0},  {"h", 3600.0}, {"d", 86400.0}, {"w", 604800.0}};
  return parse_with_units(text, units, "time");
}

double parse_bandwidth(const std::string& text) {
  static const UnitTable units = {
      {"bps", 0.125},         {"kbps", 125.0},         {"Kbps", 125.0},         {"Mbps", 125e3},
      {"Gbps", 125e6},        {"Tbps", 125e9},         {"Bps", 1.0},            {"kBps", 1e3},
      {"KBps", 1e3},          {"MBps", 1e6},           {"GBps", 1e9},           {"TBps", 1e12},
      {"Kibps", 128.0},       {"Mibps", 131072.0},     {"Gibps", 134217728.0},  {"KiBps", 1024.0},
      {"MiBps", 1048576.0},   {"GiBps", 1073741824.0}};
  return parse_with_units(text, units, "bandwidth");
}

double parse_speed(const std::string& text) {
  static const UnitTable units = {{"f", 1.0}, {"kf", 1e3}, {"Mf", 1e6}, {"Gf", 1e9}, {"Tf", 1e12}, {"Pf", 1e15}};
  return parse_with_units(text, units, "speed");
}

double parse_power(const std::string& text) {
  static const UnitTable units = {{"mW", 1e-3}, {"W", 1.0}, {"kW", 1e3}, {"MW", 1e6}};
  if (split_number_unit(text).second.empty()) throw std::invalid_argument("'" + text + "' needs a unit (W, kW, mW)");
  return parse_with_units(text, units, "power");
}

double parse_number(const std::string& text) {
  auto [value, rest] = split_number_unit(text);
  if (!rest.empty()) throw std::invalid_argument("'" + text + "' is not a number");
  return value;
}

long long parse_integer(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    throw std::invalid_argument("'" + text + "' is not a non-negative integer");
  if (text.size() > 18) throw std::invalid_argument("'" + text + "' is too large");
  return std::stoll(text);
}

bool parse_bool(const std::string& text) {
  if (text == "true" || text == "yes" || text == "1") return true;
  if (text == "false" || text == "no" || text == "0") return false;
  throw std::invalid_argument("'" + text + "' is not a boolean (true/false)");
}

}  // namespace dmlsim
