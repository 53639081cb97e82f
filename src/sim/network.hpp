// Network model selection. A run's network is a SimGrid model and its options, given either
// directly (<network model="CM02"/>) or by a network profile (<network profile="linux-tcp"/>,
// profiles/*.xml). Profiles shipped, validated against Linux TCP through emulated links (see
// docs/network-fidelity.md):
//   linux-tcp        CM02 plus the TCP connection model (network/tcp_model.hpp): per host pair, the
//                    congestion window across messages (initial window, slow start, CUBIC, restart
//                    after idle, buffer caps), from physical parameters only. The default: scenarios
//                    without <network>, and every shipped scenario.
//   linux-tcp-table  the earlier default: CM02 with latency/bandwidth factors by message size and
//                    route latency and a TCP window cap, fitted to rounds measured with emulator loss.
//   cm02             latency + size/bandwidth, TCP-gamma lifted: right for small messages and short
//                    links, fast for large messages on long links (no slow start).
//   lv08             SimGrid's own default: up to 12x too slow on long links.
#pragma once

#include "network/tcp_model.hpp"
#include "scenario/scenario.hpp"

#include <optional>
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
// (empty when the profile has none or the command line replaced the profile's model) or its TCP
// connection model.
struct NetworkSetup {
  ConfigList config;
  FactorTable factors;
  std::optional<tcp::TcpParams> tcp = std::nullopt;
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

// Installs the TCP connection model (network/tcp_model.hpp) as the network model's factor
// callbacks. Each (sender host, receiver host) pair is one connection whose window persists
// across its messages. When a message starts, its rate share is estimated as the bottleneck
// link's payload bandwidth divided among the connections using that link (the ones still sending,
// by their predicted ends, or as many as shared it during this connection's previous message,
// whichever is more): equal shares, as CM02's max-min solver gives flows of equal route latency.
// The model's extra round trips become extra latency; the payload share of the link
// (mss / (mss + header)) becomes the bandwidth factor; the solver keeps deciding the share.
// A message's end, needed for the idle test of the next one, is predicted with the estimated
// share, so results depend only on the simulation's order of events. Must run after the platform
// is loaded.
void install_tcp_model(const tcp::TcpParams& params);

// Installs whatever `setup` carries: the factor table or the TCP model (or nothing).
void install_network_model(const NetworkSetup& setup);

}  // namespace dmlsim
