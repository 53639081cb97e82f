// Competing traffic: background flows between two hosts, sharing the links of their route with
// the training traffic under the same network model (they are ordinary SimGrid communications, so
// the model's sharing and its factors apply to them). A flow without a rate takes what the model
// gives it (a bulk TCP transfer); with a rate it is capped there (SimGrid's Comm::set_rate). An
// on/off flow alternates on and off periods drawn, exponentially with the given means, from the
// scenario's seed; it starts on.
#pragma once

#include "scenario/scenario.hpp"

#include <simgrid/s4u/Host.hpp>
#include <vector>

namespace dmlsim {

struct PlacedFlow {
  BackgroundFlow spec;
  simgrid::s4u::Host* from = nullptr;
  simgrid::s4u::Host* to = nullptr;
};

// Resolves the flows' hosts on the loaded platform; throws ScenarioError at the flow's line.
std::vector<PlacedFlow> place_background(const Scenario& scenario);

// Creates one daemon actor per flow (they stop when the run does).
void start_background(const std::vector<PlacedFlow>& flows, std::uint64_t seed);

}  // namespace dmlsim
