// Network model selection. A run's network is a SimGrid model and its options, given either
// directly (<network model="CM02"/>) or by a network profile (<network profile="linux-tcp"/>,
// profiles/*.xml). Profiles shipped, measured on Linux TCP through emulated links (see
// docs/network-fidelity.md):
//   linux-tcp  CM02 with latency/bandwidth factors by message size and route latency and a TCP
//              window cap, fitted to Linux TCP round times (slow start and window growth
//              included). The default: scenarios without <network>, and every shipped scenario.
//   cm02       latency + size/bandwidth, TCP-gamma lifted: right for small messages and short links,
//              up to 56 % fast for large messages on long links (no slow start).
//   lv08       SimGrid's own default: up to 12x too slow on long links.
#pragma once

#include "scenario/scenario.hpp"

#include <string>
#include <utility>
#include <vector>

namespace dmlsim {

using ConfigList = std::vector<std::pair<std::string, std::string>>;

// The SimGrid configuration a run uses: the model, the profile's items, the scenario's <config>
// items, then the command line's --cfg items (last wins). Under CM02 the TCP-gamma cap is lifted
// unless set.
ConfigList resolve_network_config(const NetworkSpec& spec, const ConfigList& command_line);

// One line for outputs, e.g. "CM02, TCP-gamma cap lifted (latency + size/bandwidth ...)" or
// "CM02, TCP-gamma 1095000, ... factors ...: profile linux-tcp (profiles/linux-tcp.xml): <its description>".
std::string describe_network(const ConfigList& config);
std::string describe_network(const NetworkSpec& spec, const ConfigList& config);

// What a run installs: the configuration, and a profile's per-size, per-route-latency factors
// (empty when the profile has none or the command line replaced the profile's model).
struct NetworkSetup {
  ConfigList config;
  FactorTable factors;
};
NetworkSetup resolve_network(const NetworkSpec& spec, const ConfigList& command_line);

// Applies the list to SimGrid. Must run after the Engine exists and before the platform is loaded.
// Throws std::runtime_error naming the offending item.
void apply_network_config(const ConfigList& config);

// Installs the table as the network model's factor callbacks: a message of S bytes gets the
// table's factors at S and at its route's latency (the sum of the route's link latencies). Must
// run after the platform is loaded. Throws std::runtime_error if SimGrid refuses (e.g. the
// configuration also sets network/latency-factor).
void install_network_factors(const FactorTable& factors);

}  // namespace dmlsim
