// How bytes move in a round (ASTRA-sim's idiom: one class per communication algorithm, one file
// each in this folder, chosen by name from the one table in topology.cpp). What the algorithm
// computes is not a topology's business: every topology runs the same server and worker roles on
// the same K uploads, so it changes time and traffic, never the model.
#pragma once

#include "scenario/scenario.hpp"
#include "sim/placement.hpp"
#include "sim/sim_context.hpp"

#include <memory>
#include <string>
#include <vector>

namespace dmlsim {

class Topology {
 public:
  virtual ~Topology() = default;
  // Creates the run's actors on the placed hosts. The topology outlives them.
  virtual void create_actors(SimContext& context, const Placed& placed) = 0;
  // Before the clock starts: throws std::invalid_argument when the placed hosts cannot carry the
  // topology's messages (SimGrid would abort on a send without a route). May prepare what
  // create_actors uses.
  virtual void check_routes(const Placed& /*placed*/, const AlgorithmSetup& /*setup*/) {}
};

// Throws std::invalid_argument "WHO run on hosts A and B, which the platform does not connect (no
// route)" when two different hosts have no route between them; `who` names the two actors
// ("gossip neighbours 0 and 1").
void require_route(const simgrid::s4u::Host* a, const simgrid::s4u::Host* b, const std::string& who);
// What a star's messages need: a route between the server and every worker.
void require_server_routes(const Placed& placed);

// A topology whose messages all travel between the server and the workers.
class StarTopology : public Topology {
 public:
  void check_routes(const Placed& placed, const AlgorithmSetup& /*setup*/) override { require_server_routes(placed); }
};

struct TopologyKind {
  std::string name;
  bool needs_server;  // has a parameter-server actor: <server> is required
  bool needs_zones;   // groups workers by platform zone: the platform must have zones
  std::unique_ptr<Topology> (*make)(const TopologySpec& spec);
  // What it runs for a synchronous algorithm when the scenario has <failures>; null: refused.
  std::unique_ptr<Topology> (*make_resilient)(const TopologySpec& spec);
};

// The table of topologies, in the order the README documents them.
const std::vector<TopologyKind>& topology_kinds();

// The scenario's topology kind; throws ScenarioError at the <topology> line when the kind is
// unknown or needs a <server> the scenario lacks.
const TopologyKind& find_topology_kind(const Scenario& scenario);

// One class per file; each file defines its factory.
std::unique_ptr<Topology> make_parameter_server(const TopologySpec& spec);
std::unique_ptr<Topology> make_ring_allreduce(const TopologySpec& spec);
std::unique_ptr<Topology> make_tree(const TopologySpec& spec);
std::unique_ptr<Topology> make_hierarchical(const TopologySpec& spec);
std::unique_ptr<Topology> make_gossip(const TopologySpec& spec);  // decentralized algorithms only
// Not in the table: what the parameter-server kind runs for an asynchronous algorithm.
std::unique_ptr<Topology> make_async_parameter_server(const TopologySpec& spec);
// Nor this: what it runs for a synchronous algorithm when the scenario has <failures>.
std::unique_ptr<Topology> make_resilient_parameter_server(const TopologySpec& spec);
// And these for the server-less kinds with <failures>: the shape rebuilt without the dead
// (resilient_collective.hpp).
std::unique_ptr<Topology> make_resilient_ring(const TopologySpec& spec);
std::unique_ptr<Topology> make_resilient_tree(const TopologySpec& spec);
std::unique_ptr<Topology> make_resilient_hierarchical(const TopologySpec& spec);
// And this for gossip: the nodes go on with the neighbours that are left (resilient_gossip.cpp).
std::unique_ptr<Topology> make_resilient_gossip(const TopologySpec& spec);
// Not in the table: what the parameter-server and ring-allreduce kinds run for a streaming
// algorithm (fragments exchanged while the next inner steps compute).
std::unique_ptr<Topology> make_streaming(const TopologySpec& spec);

}  // namespace dmlsim
