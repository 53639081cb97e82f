#include "sim/network.hpp"

#include "util/quote.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <limits>
#include <map>
#include <memory>
#include <queue>
#include <simgrid/kernel/resource/NetworkModelIntf.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/NetZone.hpp>
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

NetworkSetup resolve_network(const NetworkSpec& spec, const ConfigList& command_line) {
  NetworkSetup setup{resolve_network_config(spec, command_line), {}};
  if (spec.profile && *find(setup.config, "network/model") == spec.profile->model) {
    setup.tcp = spec.profile->tcp;
    setup.factors = spec.profile->factors;
    // Interpolating between rows needs the window cap SimGrid will apply.
    const std::string* gamma = find(setup.config, "network/TCP-gamma");
    try {
      setup.factors.window = gamma ? std::stod(*gamma) : 0;
    } catch (const std::exception&) {
      setup.factors.window = 0;  // SimGrid rejects the value when it is applied
    }
  }
  return setup;
}

std::string describe_network(const ConfigList& config) {
  const std::string model = *find(config, "network/model");
  const std::string* gamma = find(config, "network/TCP-gamma");
  std::string text = model;
  if (gamma) text += (*gamma == "0") ? ", TCP-gamma cap lifted" : fmt::format(", TCP-gamma {}", *gamma);
  if (model == "CM02")
    text += " (latency + size/bandwidth per message, no slow start: within 5 % of Linux TCP up to 64 KiB and on "
            "short links, up to a third fast for 2-8 MB on 100 ms links; profile linux-tcp, the default, models the TCP connection)";
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
  if (!p.factors.empty())
    text += fmt::format(", latency/bandwidth factors by message size and route latency ({} latencies)", p.factors.rows.size());
  if (p.tcp)
    text += fmt::format(", TCP connection model (initial window {:g} x {:g} B, slow start, CUBIC, restart after idle {}, "
                        "window cap {:.0f} B)",
                        p.tcp->initial_window, p.tcp->mss, p.tcp->slow_start_after_idle ? "on" : "off",
                        p.tcp->window_cap() * p.tcp->mss);
  text += fmt::format(": profile {} ({})", p.name, p.file.string());
  if (!p.description.empty()) text += ": " + p.description;
  return text;
}

void apply_network_config(const ConfigList& config) {
  for (const auto& [key, value] : config) {
    try {
      simgrid::s4u::Engine::set_config(key + ":" + value);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("SimGrid rejected the configuration {}: {}", quote_input(key + ":" + value), e.what()));
    }
  }
}

namespace {
double route_latency(const std::vector<simgrid::s4u::Link*>& links) {
  double latency = 0;
  for (const auto* link : links) latency += link->get_latency();
  return latency;
}

double route_bandwidth(const std::vector<simgrid::s4u::Link*>& links) {
  double bandwidth = std::numeric_limits<double>::infinity();
  for (const auto* link : links) bandwidth = std::min(bandwidth, link->get_bandwidth());
  return bandwidth;
}

simgrid::kernel::resource::NetworkModelIntf& factor_model() {
  auto* model = simgrid::s4u::Engine::get_instance()->get_netzone_root()->get_network_model();
  if (model == nullptr) throw std::runtime_error("the network model does not accept factor callbacks");
  return *model;
}

const simgrid::s4u::Link* bottleneck_of(const std::vector<simgrid::s4u::Link*>& links) {
  const simgrid::s4u::Link* narrowest = nullptr;
  for (const auto* link : links)
    if (narrowest == nullptr || link->get_bandwidth() < narrowest->get_bandwidth()) narrowest = link;
  return narrowest;
}

// The TCP connections of one simulation: their windows, and who is sending through which link.
class TcpConnections {
 public:
  explicit TcpConnections(const tcp::TcpParams& params) : params_(params) {}

  // Called when a message of `bytes` starts from src to dst: its latency factor.
  double latency_factor(double bytes, const simgrid::s4u::Host& src, const simgrid::s4u::Host& dst,
                        const std::vector<simgrid::s4u::Link*>& links) {
    const double latency = route_latency(links);
    const auto* bottleneck = bottleneck_of(links);
    if (!(bytes > 0) || !(latency > 0) || bottleneck == nullptr) return 1;  // nothing a factor could add
    const double now = simgrid::s4u::Engine::get_clock();
    auto& connection = connections_[{src.get_name(), dst.get_name()}];
    const int flows = sharing_flows(*bottleneck, connection, now);
    const tcp::TcpPath path{latency, bottleneck->get_bandwidth() * params_.efficiency() / flows, flows};
    const auto timing = tcp::send_message(connection.window, params_, path, bytes, now);
    start_sending(*bottleneck, connection, now + timing.duration);
    return (latency + timing.extra_latency) / latency;
  }

  double bandwidth_factor() const { return params_.efficiency(); }

 private:
  // How many messages of a connection are in flight with a given bottleneck link.
  struct InFlight {
    const simgrid::s4u::Link* link;
    int messages;
  };
  struct Connection {
    tcp::ConnectionState window;
    int flows_seen = 1;  // connections that shared the bottleneck during the latest message
    long latest_start = -1;  // sequence number of the latest message (when flows_seen was reset)
    std::vector<InFlight> in_flight;
  };
  struct Sending {
    double predicted_end;
    Connection* connection;
    bool operator>(const Sending& other) const { return predicted_end > other.predicted_end; }
  };
  // One bottleneck link: its messages in flight by predicted end, and the sharing counts of the
  // messages started through it, as the running suffix maxima (sequence number, count), counts
  // decreasing, so that "the most that shared it since message s" is a binary search.
  struct LinkLoad {
    std::priority_queue<Sending, std::vector<Sending>, std::greater<Sending>> sending;
    std::vector<std::pair<long, int>> suffix_max;

    int most_sharing_since(long sequence) const {
      auto it = std::lower_bound(suffix_max.begin(), suffix_max.end(), sequence,
                                 [](const std::pair<long, int>& entry, long s) { return entry.first < s; });
      return it == suffix_max.end() ? 0 : it->second;
    }
    void record(long sequence, int sharing) {
      while (!suffix_max.empty() && suffix_max.back().second <= sharing) suffix_max.pop_back();
      suffix_max.emplace_back(sequence, sharing);
    }
  };

  // Connections expected to share `link` with a message starting now; updates what the others
  // sending through it have seen. A connection's flows_seen is the most connections that shared
  // the link with any of its messages in flight since its latest message started: kept lazily, as
  // the link's suffix maximum since that start, folded in when its last message there ends or when
  // it starts the next one, so a message costs O(log K) instead of a pass over the K in flight.
  int sharing_flows(const simgrid::s4u::Link& link, Connection& connection, double now) {
    auto& load = links_[&link];
    while (!load.sending.empty() && load.sending.top().predicted_end <= now + 1e-9 * (1 + now)) {
      Connection& ended = *load.sending.top().connection;
      load.sending.pop();
      auto presence = in_flight(ended, link);
      if (--presence->messages == 0) {
        ended.flows_seen = std::max(ended.flows_seen, load.most_sharing_since(ended.latest_start + 1));
        ended.in_flight.erase(presence);
      }
    }
    const int now_sharing = static_cast<int>(load.sending.size()) + 1;
    for (const auto& presence : connection.in_flight)
      connection.flows_seen = std::max(connection.flows_seen, links_[presence.link].most_sharing_since(connection.latest_start + 1));
    const int flows = std::max(now_sharing, connection.flows_seen);
    const long sequence = next_sequence_++;
    load.record(sequence, now_sharing);
    connection.flows_seen = now_sharing;
    connection.latest_start = sequence;
    return flows;
  }

  static std::vector<InFlight>::iterator in_flight(Connection& connection, const simgrid::s4u::Link& link) {
    return std::find_if(connection.in_flight.begin(), connection.in_flight.end(),
                        [&link](const InFlight& presence) { return presence.link == &link; });
  }

  void start_sending(const simgrid::s4u::Link& link, Connection& connection, double predicted_end) {
    links_[&link].sending.push({predicted_end, &connection});
    auto presence = in_flight(connection, link);
    if (presence == connection.in_flight.end()) connection.in_flight.push_back({&link, 1});
    else ++presence->messages;
  }

  tcp::TcpParams params_;
  std::map<std::pair<std::string, std::string>, Connection> connections_;  // by (sender, receiver) host
  std::map<const simgrid::s4u::Link*, LinkLoad> links_;                     // by bottleneck link
  long next_sequence_ = 0;                                                   // of messages started
};

}  // namespace

void install_tcp_model(const tcp::TcpParams& params) {
  auto& model = factor_model();
  // The callbacks outlive this call and share the connections.
  const auto connections = std::make_shared<TcpConnections>(params);
  try {
    model.set_lat_factor_cb([connections](double size, const simgrid::s4u::Host* src, const simgrid::s4u::Host* dst,
                                          const std::vector<simgrid::s4u::Link*>& links,
                                          const std::unordered_set<simgrid::s4u::NetZone*>&) {
      return connections->latency_factor(size, *src, *dst, links);
    });
    model.set_bw_factor_cb([connections](double, const simgrid::s4u::Host*, const simgrid::s4u::Host*,
                                         const std::vector<simgrid::s4u::Link*>&,
                                         const std::unordered_set<simgrid::s4u::NetZone*>&) {
      return connections->bandwidth_factor();
    });
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("SimGrid refused the profile's <tcp> model: {}", e.what()));
  }
}

void install_network_model(const NetworkSetup& setup) {
  if (setup.tcp) install_tcp_model(*setup.tcp);
  else install_network_factors(setup.factors);
}

void install_network_factors(const FactorTable& factors) {
  if (factors.empty()) return;
  auto* model = &factor_model();
  // The callbacks outlive this call: they own a copy of the table.
  const auto table = std::make_shared<const FactorTable>(factors);
  try {
    model->set_lat_factor_cb([table](double size, const simgrid::s4u::Host*, const simgrid::s4u::Host*,
                                     const std::vector<simgrid::s4u::Link*>& links,
                                     const std::unordered_set<simgrid::s4u::NetZone*>&) {
      return table->latency_factor(size, route_latency(links));
    });
    model->set_bw_factor_cb([table](double size, const simgrid::s4u::Host*, const simgrid::s4u::Host*,
                                    const std::vector<simgrid::s4u::Link*>& links,
                                    const std::unordered_set<simgrid::s4u::NetZone*>&) {
      return table->bandwidth_factor(size, route_latency(links), route_bandwidth(links));
    });
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("SimGrid refused the profile's <factors>: {}", e.what()));
  }
}

}  // namespace dmlsim
