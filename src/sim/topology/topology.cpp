#include "sim/topology/topology.hpp"

#include "util/quote.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Host.hpp>
#include <stdexcept>

namespace dmlsim {

const std::vector<TopologyKind>& topology_kinds() {
  static const std::vector<TopologyKind> kinds = {
      {"parameter-server", true, false, make_parameter_server, make_resilient_parameter_server},
      {"ring-allreduce", false, false, make_ring_allreduce, make_resilient_ring},
      {"tree", false, false, make_tree, make_resilient_tree},
      {"hierarchical", false, true, make_hierarchical, make_resilient_hierarchical},
      {"gossip", false, false, make_gossip, make_resilient_gossip},
  };
  return kinds;
}

const TopologyKind& find_topology_kind(const Scenario& s) {
  const auto& spec = s.topology;
  std::vector<std::string> names;
  for (const auto& kind : topology_kinds()) {
    if (kind.name == spec.kind) {
      if (kind.needs_server && s.server.host.empty())
        throw ScenarioError(s.file.string(), spec.line,
                            fmt::format("<topology> attribute 'kind': {} needs a <server host=\"...\"/> element",
                                        kind.name));
      return kind;
    }
    names.push_back(kind.name);
  }
  throw ScenarioError(s.file.string(), spec.line,
                      fmt::format("<topology> attribute 'kind': unknown topology {} (allowed: {})", quote_input(spec.kind),
                                  fmt::join(names, ", ")));
}

void require_route(const simgrid::s4u::Host* a, const simgrid::s4u::Host* b, const std::string& who) {
  if (a == b) return;
  std::vector<simgrid::s4u::Link*> links;
  double latency = 0;
  a->route_to(b, links, &latency);
  if (links.empty() && latency <= 0)
    throw std::invalid_argument(fmt::format("{} run on hosts {} and {}, which the platform does not connect (no route)", who,
                                            printable(a->get_name()), printable(b->get_name())));
}

void require_server_routes(const Placed& placed) {
  for (std::size_t k = 0; k < placed.workers.size(); ++k)
    require_route(placed.server, placed.workers[k], fmt::format("the server and worker {}", k));
}

}  // namespace dmlsim
