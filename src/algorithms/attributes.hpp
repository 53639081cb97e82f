// Hyper-parameters as typed attributes. An algorithm declares each of its attributes once (name,
// type, default, allowed range or values, one-line doc); the scenario reader, study axes, the
// `dmlsim algorithms` listing and the run summaries all read those declarations, so none of them
// keeps its own list. Pure code: no SimGrid, no XML.
#pragma once

#include <limits>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace dmlsim {

enum class AttributeType { Real, Integer, Boolean, Choice };

// Real -> double, Integer -> int, Boolean -> bool, Choice -> std::string.
using AttributeValue = std::variant<double, int, bool, std::string>;

// Closed interval by default; `max_open` makes it [min, max) (e.g. a momentum below 1), `min_open`
// (min, max] (e.g. a fraction above 0).
struct Range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool max_open = false;
  bool min_open = false;

  bool contains(double value) const {
    return (min_open ? value > min : value >= min) && (max_open ? value < max : value <= max);
  }
  std::string text() const;  // "[0, 1)", "(0, 1]", "[1, 1048576]", "[0, inf)"
};

struct AttributeSpec {
  std::string name;
  AttributeType type = AttributeType::Real;
  AttributeValue default_value;
  bool required = false;             // must appear in the scenario (the default is then only a fallback for code)
  Range range;                       // Real and Integer
  std::vector<std::string> choices;  // Choice
  std::string doc;                   // one line

  std::string allowed_text() const;  // the range, the choices, or "true|false"
};

AttributeSpec real_attribute(std::string name, double fallback, Range range, std::string doc);
AttributeSpec integer_attribute(std::string name, int fallback, Range range, std::string doc);
AttributeSpec boolean_attribute(std::string name, bool fallback, std::string doc);
AttributeSpec choice_attribute(std::string name, std::string fallback, std::vector<std::string> choices,
                               std::string doc);
AttributeSpec required(AttributeSpec spec);

std::string type_name(AttributeType type);  // "real", "integer", "boolean", "choice"
std::string attribute_text(const AttributeValue& value);

// Parses and range-checks one value as `spec` declares it. Throws std::invalid_argument with a
// message naming the value and what is allowed (the caller adds file, line and attribute).
AttributeValue parse_attribute(const AttributeSpec& spec, const std::string& text);

struct AlgorithmInfo;

// The resolved hyper-parameters of one run: the algorithm and a value for each attribute it
// declares, in declaration order. Algorithms read them through the typed getters, which throw
// std::logic_error for an attribute the algorithm did not declare (a programming error that the
// registry's tests catch by building every algorithm from its defaults).
class AlgorithmParams {
 public:
  AlgorithmParams() = default;  // no algorithm yet (a scenario before its <algorithm> is read)
  explicit AlgorithmParams(const AlgorithmInfo& algorithm);  // every attribute at its default

  const AlgorithmInfo& algorithm() const;
  const std::string& name() const;
  // Sets a declared attribute; the value must have the declared type (it is not range-checked
  // again: parse_attribute does that).
  void set(const std::string& attribute, AttributeValue value);

  double real(const std::string& attribute) const;
  int integer(const std::string& attribute) const;
  bool boolean(const std::string& attribute) const;
  const std::string& choice(const std::string& attribute) const;
  const std::vector<std::pair<std::string, AttributeValue>>& values() const { return values_; }

 private:
  const AttributeValue& value(const std::string& attribute, AttributeType type) const;
  const AlgorithmInfo* algorithm_ = nullptr;
  std::vector<std::pair<std::string, AttributeValue>> values_;
};

}  // namespace dmlsim
