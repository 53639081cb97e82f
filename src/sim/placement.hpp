// Checks a scenario against the loaded platform: the server and worker hosts exist, link
// patterns match links; places the workers and applies the link overrides.
#pragma once

#include "scenario/scenario.hpp"

#include <simgrid/s4u/Host.hpp>
#include <string>
#include <vector>

namespace dmlsim {

struct Placed {
  simgrid::s4u::Host* server = nullptr;      // null without <server>
  std::vector<simgrid::s4u::Host*> workers;  // worker k runs on workers[k]
  // Zone of each host: the index of the root zone's child (datacenter) that holds it; 0 for every
  // host of a platform without child zones.
  int server_zone = 0;
  std::vector<int> worker_zones;
  bool platform_has_zones = false;
};

// Throws ScenarioError at the <server>/<workers> line when a host is unknown. Without a <server>,
// every host may run workers.
Placed place_actors(const Scenario& scenario);

// Sets latency / bandwidth of every link whose name matches each override's pattern, in file
// order. Returns one description per override. Throws ScenarioError if a pattern matches nothing.
std::vector<std::string> apply_link_overrides(const Scenario& scenario);

// "node-2" < "node-10": names compared with their trailing numbers as numbers.
bool natural_less(const std::string& a, const std::string& b);

}  // namespace dmlsim
