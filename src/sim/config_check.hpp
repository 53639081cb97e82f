// Checks on SimGrid configuration values and on the machine's limits, made before anything is
// handed to SimGrid: SimGrid 3.32 aborts the process (xbt_die) on a bad model name or choice, and
// on an actor stack it cannot protect, and silently ignores context options set too late.
#pragma once

#include "sim/network.hpp"

#include <string>
#include <vector>

namespace dmlsim {

// Throws std::invalid_argument naming the item and the values SimGrid 3.32 accepts when an item
// with a fixed set of choices (models, optimisation modes, solvers, context factories…) or a
// numeric item has a value SimGrid would abort on or silently misuse.
void check_simgrid_config(const ConfigList& config);

// The items SimGrid reads when the engine is created (contexts/*): they must be passed as the
// engine's command-line arguments ("--cfg=KEY:VALUE"), as setting them later has no effect; and
// the log settings given to use_log_settings ("--log=…").
std::vector<std::string> engine_arguments(const ConfigList& config);

// SimGrid's own logging settings (`--log=root.thres:debug`…), as its programs take them. SimGrid
// aborts on a malformed one, so each is tried in a child first; the valid ones are then passed to
// every engine this process creates (see engine_arguments). Throws std::invalid_argument carrying
// SimGrid's message.
void use_log_settings(const std::vector<std::string>& settings);

// Throws std::invalid_argument with the numbers when `actors` actor stacks (all the actors a run
// creates) cannot fit this machine:
// each guarded stack costs two memory mappings (vm.max_map_count) and `contexts/stack-size` KiB of
// address space (RLIMIT_AS).
void check_actor_limits(long actors, const ConfigList& config);

// Loads the platform file into the current engine in a forked child first: where SimGrid aborts on
// it (an unknown routing, core="0", a link or route declared twice…), throws std::invalid_argument
// carrying SimGrid's own message instead of taking the process down.
void check_platform_in_child(const std::string& platform_file);

// After loading (and overriding links): every link has a positive bandwidth and a latency in
// [0, kMaxLatency], every host a positive speed. SimGrid treats a zero bandwidth as unlimited,
// accepts a negative latency, and aborts mid-run on a zero speed or a huge latency. Throws
// std::invalid_argument naming the resource.
void check_platform_resources();

}  // namespace dmlsim
