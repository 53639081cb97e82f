#include "sim/network.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <simgrid/s4u/Engine.hpp>
#include <stdexcept>

namespace dmlsim {

namespace {
const std::string* find(const ConfigList& config, const std::string& key) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : config)
    if (k == key) found = &v;
  return found;
}
}  // namespace

ConfigList resolve_network_config(const NetworkSpec& spec, const ConfigList& command_line) {
  ConfigList config = {{"network/model", spec.model}};
  if (spec.profile)
    for (const auto& item : spec.profile->config) config.push_back(item);
  for (const auto& item : spec.config) config.push_back(item);
  for (const auto& item : command_line) config.push_back(item);
  const std::string model = *find(config, "network/model");
  if (model == "CM02" && !find(config, "network/TCP-gamma")) config.emplace_back("network/TCP-gamma", "0");
  // Keep only the last value of each key, in first-appearance order, so outputs list each once.
  ConfigList unique;
  for (const auto& [key, value] : config) {
    auto it = std::find_if(unique.begin(), unique.end(), [&](const auto& item) { return item.first == key; });
    if (it == unique.end()) unique.emplace_back(key, value);
    else it->second = value;
  }
  return unique;
}

std::string describe_network(const ConfigList& config) {
  const std::string model = *find(config, "network/model");
  const std::string* gamma = find(config, "network/TCP-gamma");
  std::string text = model;
  if (gamma) text += (*gamma == "0") ? ", TCP-gamma cap lifted" : fmt::format(", TCP-gamma {}", *gamma);
  if (model == "CM02")
    text += " (dmlsim's built-in default: latency + size/bandwidth per message, no slow start; within 5 % of Linux "
            "TCP up to 64 KiB and on short links, up to 56 % fast for 1-8 MB on 100 ms links)";
  else if (model == "LV08")
    text += " (SimGrid's default: latency x13.01, bandwidth x0.97; up to 12x slower than Linux TCP on long links)";
  return text;
}

std::string describe_network(const NetworkSpec& spec, const ConfigList& config) {
  const std::string model = *find(config, "network/model");
  if (!spec.profile) return describe_network(config);
  const auto& p = *spec.profile;
  if (model != p.model)
    return describe_network(config) + fmt::format(" (the command line replaced the model {} of profile {})", p.model, p.name);
  const std::string* gamma = find(config, "network/TCP-gamma");
  std::string text = model;
  if (gamma) text += (*gamma == "0") ? ", TCP-gamma cap lifted" : fmt::format(", TCP-gamma {}", *gamma);
  text += fmt::format(": profile {} ({})", p.name, p.file.string());
  if (!p.description.empty()) text += ": " + p.description;
  return text;
}

void apply_network_config(const ConfigList& config) {
  for (const auto& [key, value] : config) {
    try {
      simgrid::s4u::Engine::set_config(key + ":" + value);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("SimGrid rejected the configuration '{}:{}': {}", key, value, e.what()));
    }
  }
}

}  // namespace dmlsim
