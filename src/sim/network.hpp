// Network model selection. A run's network is a SimGrid model and its options, given either
// directly (<network model="CM02"/>) or by a network profile (<network profile="linux-tcp"/>,
// profiles/*.xml). Profiles shipped, measured on Linux TCP through emulated links (see
// docs/network-fidelity.md):
//   linux-tcp  SMPI model with piecewise latency/bandwidth factors and a TCP window cap fitted to
//              Linux TCP round times (captures slow start): within 5 % of real TCP for 248 B-8 MB on
//              0.5-100 ms links but 8 MB at 100 ms (+6.5 %, inside real TCP's own spread). The
//              default of the shipped scenarios.
//   cm02       latency + size/bandwidth, TCP-gamma lifted: right for small messages and short links,
//              up to 56 % fast for large messages on long links (no slow start). dmlsim's built-in
//              default when a scenario names no network.
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

// One line for outputs, e.g. "CM02, TCP-gamma cap lifted (dmlsim's default; ...)" or
// "SMPI, TCP-gamma cap lifted: profile linux-tcp (profiles/linux-tcp.xml): <its description>".
std::string describe_network(const ConfigList& config);
std::string describe_network(const NetworkSpec& spec, const ConfigList& config);

// Applies the list to SimGrid. Must run after the Engine exists and before the platform is loaded.
// Throws std::runtime_error naming the offending item.
void apply_network_config(const ConfigList& config);

}  // namespace dmlsim
