#include "sim/topology/topology.hpp"

#include <fmt/format.h>

namespace dmlsim {

const std::vector<TopologyKind>& topology_kinds() {
  static const std::vector<TopologyKind> kinds = {
      {"parameter-server", true, false, make_parameter_server},
      {"ring-allreduce", false, false, make_ring_allreduce},
      {"tree", false, false, make_tree},
      {"hierarchical", false, true, make_hierarchical},
      {"gossip", false, false, make_gossip},
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
                      fmt::format("<topology> attribute 'kind': unknown topology '{}' (allowed: {})", spec.kind,
                                  fmt::join(names, ", ")));
}

}  // namespace dmlsim
