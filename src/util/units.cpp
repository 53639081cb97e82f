#include "util/units.hpp"

#include "util/quote.hpp"

#include <cmath>
#include <simgrid/Exception.hpp>
#include <xbt/parse_units.hpp>
#include <cstdlib>
#include <stdexcept>
#include <utility>
#include <vector>

namespace dmlsim {
namespace {

using SimGridParser = double (*)(const std::string&, int, const std::string&, const std::string&);

// Splits "12.5ms" into 12.5 and "ms"; the number part must be non-empty and finite.
std::pair<double, std::string> split_number_unit(const std::string& text) {
  if (text.empty()) throw std::invalid_argument("empty value");
  const char* begin = text.c_str();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (end == begin) throw std::invalid_argument(quote_input(text) + " does not start with a number");
  if (!std::isfinite(value)) throw std::invalid_argument(quote_input(text) + " is not finite");
  return {value, std::string(end)};
}

// A decimal number followed by a unit, parsed by SimGrid's own unit parser so that every unit
// SimGrid accepts in platform files is accepted here, with the same meaning. A unit is required:
// SimGrid reads a bare number as seconds or bytes per second and only warns.
double parse_with_units(const std::string& text, SimGridParser parse, const char* what, const char* example,
                        const char* units) {
  const auto [value, unit] = split_number_unit(text);
  const auto number_end = text.size() - unit.size();
  if (text.find_first_not_of("0123456789.eE+-") < number_end)  // hexadecimal, inf, nan: strtod's extensions
    throw std::invalid_argument(quote_input(text) + " is not a decimal number");
  if (unit.empty())
    throw std::invalid_argument(quote_input(text) + " has no unit: a " + what + " needs one, e.g. " + example);
  try {
    return parse("", 0, text, what);
  } catch (const simgrid::ParseError& e) {
    // SimGrid's message starts "Parse error at :0: "; keep what follows.
    const std::string message = e.what();
    const auto colon = message.find(":0: ");
    const std::string reason = colon == std::string::npos ? message : message.substr(colon + 4);
    if (reason.rfind("unknown unit", 0) == 0)
      throw std::invalid_argument("unknown " + std::string(what) + " unit " + quote_input(unit) + " in " + quote_input(text) + " (" + units + ")");
    throw std::invalid_argument(quote_input(text) + ": " + reason);
  }
}

}  // namespace

double parse_time(const std::string& text) {
  return parse_with_units(text, xbt_parse_get_time, "time", "50ms", "known: ps, ns, us, ms, s, m, h, d, w");
}

double parse_bandwidth(const std::string& text) {
  return parse_with_units(text, xbt_parse_get_bandwidth, "bandwidth", "1Gbps or 125MBps",
                          "bps or Bps after a decimal prefix k, M, G, T or a binary one Ki, Mi, Gi, Ti");
}

double parse_speed(const std::string& text) {
  return parse_with_units(text, xbt_parse_get_speed, "speed", "20Gf", "f after a prefix k, M, G, T, P, E, Z");
}

double parse_power(const std::string& text) {
  static const std::vector<std::pair<const char*, double>> units = {{"mW", 1e-3}, {"W", 1.0}, {"kW", 1e3}, {"MW", 1e6}};
  const auto [value, unit] = split_number_unit(text);
  for (const auto& [name, factor] : units)
    if (unit == name) return value * factor;
  throw std::invalid_argument(quote_input(text) + " needs a power unit (mW, W, kW, MW)");
}

double parse_number(const std::string& text) {
  auto [value, rest] = split_number_unit(text);
  if (!rest.empty()) throw std::invalid_argument(quote_input(text) + " is not a number");
  return value;
}

long long parse_integer(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    throw std::invalid_argument(quote_input(text) + " is not a non-negative integer");
  if (text.size() > 18) throw std::invalid_argument(quote_input(text) + " is too large");
  return std::stoll(text);
}

bool parse_bool(const std::string& text) {
  if (text == "true" || text == "yes" || text == "1") return true;
  if (text == "false" || text == "no" || text == "0") return false;
  throw std::invalid_argument(quote_input(text) + " is not a boolean (true/false)");
}

}  // namespace dmlsim
