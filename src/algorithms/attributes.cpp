#include "algorithms/attributes.hpp"

#include "algorithms/registry.hpp"
#include "util/quote.hpp"
#include "util/units.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace dmlsim {
namespace {

std::string bound_text(double value) { return std::isinf(value) ? (value > 0 ? "inf" : "-inf") : fmt::format("{}", value); }

AttributeSpec make_spec(std::string name, AttributeType type, AttributeValue fallback, std::string doc) {
  AttributeSpec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.default_value = std::move(fallback);
  spec.doc = std::move(doc);
  return spec;
}

void check_range(const AttributeSpec& spec, double value, const std::string& text) {
  if (!spec.range.contains(value)) throw std::invalid_argument(fmt::format("{} is out of range {}", printable(text), spec.range.text()));
}

}  // namespace

std::string Range::text() const {
  return fmt::format("{}{}, {}{}", min_open ? "(" : "[", bound_text(min), bound_text(max), max_open || std::isinf(max) ? ")" : "]");
}

std::string AttributeSpec::allowed_text() const {
  switch (type) {
    case AttributeType::Real:
    case AttributeType::Integer: return range.text();
    case AttributeType::Boolean: return "true|false";
    case AttributeType::Choice: return fmt::format("{}", fmt::join(choices, "|"));
  }
  return "";
}

AttributeSpec real_attribute(std::string name, double fallback, Range range, std::string doc) {
  auto spec = make_spec(std::move(name), AttributeType::Real, fallback, std::move(doc));
  spec.range = range;
  return spec;
}

AttributeSpec integer_attribute(std::string name, int fallback, Range range, std::string doc) {
  auto spec = make_spec(std::move(name), AttributeType::Integer, fallback, std::move(doc));
  spec.range = range;
  return spec;
}

AttributeSpec boolean_attribute(std::string name, bool fallback, std::string doc) {
  return make_spec(std::move(name), AttributeType::Boolean, fallback, std::move(doc));
}

AttributeSpec choice_attribute(std::string name, std::string fallback, std::vector<std::string> choices,
                               std::string doc) {
  auto spec = make_spec(std::move(name), AttributeType::Choice, std::move(fallback), std::move(doc));
  spec.choices = std::move(choices);
  return spec;
}

AttributeSpec required(AttributeSpec spec) {
  spec.required = true;
  return spec;
}

std::string type_name(AttributeType type) {
  switch (type) {
    case AttributeType::Real: return "real";
    case AttributeType::Integer: return "integer";
    case AttributeType::Boolean: return "boolean";
    case AttributeType::Choice: return "choice";
  }
  return "?";
}

std::string attribute_text(const AttributeValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
        else return fmt::format("{}", v);
      },
      value);
}

AttributeValue parse_attribute(const AttributeSpec& spec, const std::string& text) {
  switch (spec.type) {
    case AttributeType::Real: {
      const double value = parse_number(text);
      check_range(spec, value, text);
      return value;
    }
    case AttributeType::Integer: {
      const long long value = parse_integer(text);
      check_range(spec, static_cast<double>(value), text);
      return static_cast<int>(value);
    }
    case AttributeType::Boolean: return parse_bool(text);
    case AttributeType::Choice:
      if (std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end())
        throw std::invalid_argument(fmt::format("{} is not one of: {}", quote_input(text), fmt::join(spec.choices, ", ")));
      return text;
  }
  throw std::logic_error("unknown attribute type");
}

AlgorithmParams::AlgorithmParams(const AlgorithmInfo& algorithm) : algorithm_(&algorithm) {
  for (const auto& spec : algorithm.attributes) values_.emplace_back(spec.name, spec.default_value);
}

const AlgorithmInfo& AlgorithmParams::algorithm() const {
  if (!algorithm_) throw std::logic_error("AlgorithmParams: no algorithm chosen");
  return *algorithm_;
}

const std::string& AlgorithmParams::name() const { return algorithm().name; }

void AlgorithmParams::set(const std::string& attribute, AttributeValue value) {
  const auto* spec = algorithm().find_attribute(attribute);
  if (!spec || static_cast<std::size_t>(spec->type) != value.index())
    throw std::logic_error(fmt::format("{} declares no {} attribute '{}'", name(),
                                       type_name(static_cast<AttributeType>(value.index())), attribute));
  for (auto& [key, stored] : values_)
    if (key == attribute) stored = std::move(value);
}

const AttributeValue& AlgorithmParams::value(const std::string& attribute, AttributeType type) const {
  for (const auto& [key, stored] : values_)
    if (key == attribute && stored.index() == static_cast<std::size_t>(type)) return stored;
  throw std::logic_error(fmt::format("{} declares no {} attribute '{}'", name(), type_name(type), attribute));
}

double AlgorithmParams::real(const std::string& attribute) const {
  return std::get<double>(value(attribute, AttributeType::Real));
}
int AlgorithmParams::integer(const std::string& attribute) const {
  return std::get<int>(value(attribute, AttributeType::Integer));
}
bool AlgorithmParams::boolean(const std::string& attribute) const {
  return std::get<bool>(value(attribute, AttributeType::Boolean));
}
const std::string& AlgorithmParams::choice(const std::string& attribute) const {
  return std::get<std::string>(value(attribute, AttributeType::Choice));
}

}  // namespace dmlsim
