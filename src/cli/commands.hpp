// The dmlsim subcommands. Each returns the process exit code:
//   0 success, 2 bad input (scenario, data, platform, command line), 3 the run failed
//   (divergence, deadlock), 1 anything unexpected.
#pragma once

#include <string>
#include <vector>

namespace dmlsim {

struct RunOptions {
  std::string scenario;
  std::vector<std::string> sets;  // ELEMENT.ATTRIBUTE=VALUE
  std::vector<std::string> cfgs;  // SimGrid KEY:VALUE
  std::vector<std::string> logs;  // SimGrid --log= settings
  std::vector<std::string> links; // PATTERN:latency=..,bandwidth=.. (applied after the scenario's <link>s)
  std::string network_profile;    // replaces the scenario's <network> model/profile (its <config> items stay)
  std::string output_dir;         // overrides <output dir>
  bool save_weights = false;
  std::string identity;           // written to OUT/identity: the sweep's digest of the run's inputs
  bool bare = false;  // benchmark baseline: same messages and FLOPs, no training
  bool quiet = false;
};

constexpr int kExitBadInput = 2;
constexpr int kExitRunFailed = 3;

int run_command(const RunOptions& options);
int validate_command(const RunOptions& options);
int algorithms_command(bool markdown);
// The scenario's training in a plain loop without SimGrid (the benchmarks' compute baseline);
// prints {"wall_time": seconds, "rounds": n, "final_accuracy": a} as JSON.
int baseline_command(const RunOptions& options);

}  // namespace dmlsim
