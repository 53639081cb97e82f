#include "algorithms/registry.hpp"

#include "util/quote.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>

// The registry table: one line per algorithm, in the order `dmlsim algorithms` lists them.
// ALGORITHM(x) stands for x_algorithm(), defined in src/algorithms/x.cpp.
#define DMLSIM_ALGORITHM_TABLE(ALGORITHM) \
  ALGORITHM(ssgd)                         \
  ALGORITHM(ma)                           \
  ALGORITHM(bmuf)                         \
  ALGORITHM(easgd)                        \
  ALGORITHM(fedavg)                       \
  ALGORITHM(ssgd_backup)                  \
  ALGORITHM(asgd)                         \
  ALGORITHM(ssp)                          \
  ALGORITHM(easgd_async)                  \
  ALGORITHM(dpsgd)                        \
  ALGORITHM(adpsgd)                       \
  ALGORITHM(diloco)                       \
  ALGORITHM(slowmo)                       \
  ALGORITHM(streaming_diloco)

namespace dmlsim {

#define DMLSIM_DECLARE_ALGORITHM(id) const AlgorithmInfo& id##_algorithm();
DMLSIM_ALGORITHM_TABLE(DMLSIM_DECLARE_ALGORITHM)
#undef DMLSIM_DECLARE_ALGORITHM

namespace {

std::vector<const AlgorithmInfo*>& table() {
#define DMLSIM_LIST_ALGORITHM(id) &id##_algorithm(),
  static std::vector<const AlgorithmInfo*> algorithms = {DMLSIM_ALGORITHM_TABLE(DMLSIM_LIST_ALGORITHM)};
#undef DMLSIM_LIST_ALGORITHM
  return algorithms;
}

}  // namespace

const AttributeSpec* AlgorithmInfo::find_attribute(const std::string& attribute) const {
  for (const auto& spec : attributes)
    if (spec.name == attribute) return &spec;
  return nullptr;
}

const std::vector<const AlgorithmInfo*>& registered_algorithms() { return table(); }

const AlgorithmInfo* find_algorithm(const std::string& name) {
  for (const auto* algorithm : table())
    if (algorithm->name == name) return algorithm;
  return nullptr;
}

std::vector<std::string> algorithm_names() {
  std::vector<std::string> names;
  for (const auto* algorithm : table()) names.push_back(algorithm->name);
  return names;
}

const AttributeSpec* find_any_attribute(const std::string& attribute) {
  for (const auto* algorithm : table())
    if (const auto* spec = algorithm->find_attribute(attribute)) return spec;
  return nullptr;
}

void check_algorithm_setting(const std::string& attribute, const std::string& value) {
  if (attribute == "name") {
    if (!find_algorithm(value))
      throw std::invalid_argument(fmt::format("{} is not one of: {}", quote_input(value), fmt::join(algorithm_names(), ", ")));
    return;
  }
  if (const auto* spec = find_any_attribute(attribute)) {
    parse_attribute(*spec, value);
    return;
  }
  std::vector<std::string> known{"name"};
  for (const auto* algorithm : table())
    for (const auto& spec : algorithm->attributes)
      if (std::find(known.begin(), known.end(), spec.name) == known.end()) known.push_back(spec.name);
  throw std::invalid_argument(
      fmt::format("no algorithm has an attribute {} (known: {})", quote_input(attribute), fmt::join(known, ", ")));
}

void register_algorithm(const AlgorithmInfo& algorithm) {
  if (find_algorithm(algorithm.name))
    throw std::invalid_argument(fmt::format("an algorithm named {} is already registered", quote_input(algorithm.name)));
  table().push_back(&algorithm);
}

AttributeSpec learning_rate_attribute() {
  return required(real_attribute("eta", 0.1, {0.0}, "learning rate of the workers' SGD steps"));
}

}  // namespace dmlsim
