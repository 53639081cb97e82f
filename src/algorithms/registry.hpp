// The algorithm registry: every algorithm is one AlgorithmInfo, defined in the algorithm's own
// file, and listed by one line of the table in registry.cpp. Everything that depends on the
// algorithm (scenario attributes and their validation, role factories, FLOPs per round, the
// `dmlsim algorithms` listing, run summaries) goes through this record.
#pragma once

#include "algorithms/algorithm.hpp"
#include "algorithms/decentralized.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dmlsim {

// What one round's local work costs, in the units the algorithms' FLOPs formulas combine.
struct RoundCost {
  double gradient_flops = 0;  // one mini-batch gradient (expected batch size × FLOPs per sample)
  double update_flops = 0;    // one vector update w <- w - eta·g (2 FLOPs per parameter)
  double partition_rows = 0;  // rows of the worker's partition (epoch-based algorithms)
  double batch_rows = 0;      // expected rows of one batch
};

// A streaming algorithm's round (Streaming DiLoCo): it synchronises one of `fragments` contiguous
// parts of the parameters, fragment (round - 1) mod fragments, and its exchange overlaps the first
// `overlap_steps` of the next round's `round_steps` inner steps.
struct Streaming {
  int fragments = 1;
  int overlap_steps = 0;
  int round_steps = 1;
};

// ASGD's staleness bound: none (SSP with s = infinity).
inline constexpr int kUnboundedStaleness = -1;

struct AlgorithmInfo {
  std::string name;     // as written in <algorithm name="…">
  std::string summary;  // one line for `dmlsim algorithms`
  std::vector<AttributeSpec> attributes;
  std::function<std::unique_ptr<ServerRole>(const AlgorithmSetup& setup, const Vector& initial)> make_server;
  std::function<std::unique_ptr<WorkerRole>(const AlgorithmSetup& setup, int worker, const Vector& initial)>
      make_worker;
  // Expected FLOPs one worker spends in one round (the bare baseline executes exactly this).
  std::function<double(const AlgorithmParams& params, const RoundCost& cost)> round_flops;
  // Optional values derived from the attributes, shown after them in summaries (e.g. EASGD's alpha).
  std::function<std::vector<std::pair<std::string, AttributeValue>>(const AlgorithmParams& params)> derived;
  // The topologies it runs on (empty: every one); another one is a scenario error.
  std::vector<std::string> topologies = {};
  // Checks the hyper-parameters against the worker count K (e.g. backup < K): an error text, or
  // empty when they fit. Empty function: nothing to check.
  std::function<std::string(const AlgorithmParams& params, int workers)> check_workers = {};
  // Asynchronous algorithms (the server applies every upload on arrival and replies to its sender
  // only): how many pushes a worker may lead the slowest worker by (SSP's s, or
  // kUnboundedStaleness). Empty function: a round-based (synchronous) algorithm.
  std::function<int(const AlgorithmParams& params)> staleness_bound = {};

  // Decentralized algorithms (no server; workers gossip with their graph neighbours, see
  // algorithms/decentralized.hpp): node i's maths. Empty function: the algorithm has a server.
  std::function<std::unique_ptr<GossipNode>(const AlgorithmSetup& setup, int worker, const Vector& initial)>
      make_node = {};

  // Streaming algorithms: the shape of their rounds (what each round sends, how much of the next
  // round hides its exchange). They apply <compression> to their fragments themselves. Empty
  // function: whole vectors, no overlap.
  std::function<Streaming(const AlgorithmParams& params)> streaming = {};

  bool asynchronous() const { return static_cast<bool>(staleness_bound); }
  bool decentralized() const { return static_cast<bool>(make_node); }

  const AttributeSpec* find_attribute(const std::string& attribute) const;
};

// The registered algorithms, in table order.
const std::vector<const AlgorithmInfo*>& registered_algorithms();
const AlgorithmInfo* find_algorithm(const std::string& name);  // nullptr if unknown
std::vector<std::string> algorithm_names();
// The first algorithm that declares `attribute` (attributes shared by several algorithms, such as
// eta or local-steps, are declared alike), or nullptr.
const AttributeSpec* find_any_attribute(const std::string& attribute);

// Checks one value of "algorithm.<attribute>" (a study axis or fixed value) against the registry:
// a known algorithm name, or a value some algorithm accepts for that attribute. Throws
// std::invalid_argument naming what is allowed.
void check_algorithm_setting(const std::string& attribute, const std::string& value);

// Adds an algorithm outside the table (tests, experiments). Throws std::invalid_argument if the
// name is taken. The record must outlive every use of the registry.
void register_algorithm(const AlgorithmInfo& algorithm);

// The learning rate every SGD-based algorithm declares: required, real, >= 0.
AttributeSpec learning_rate_attribute();

}  // namespace dmlsim
