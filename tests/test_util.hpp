// Helpers shared by the tests: temporary directories, running the dmlsim binary, forking a child
// for an in-process simulation (SimGrid allows one engine per process), reading files.
#pragma once

#include "experiment/experiment.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace simgrid::s4u {
class Engine;
}

namespace dmlsim::testutil {

// A fresh directory under the system temp dir, removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr, interleaved
};

// Runs `build/dmlsim ARGS` from the source directory (so scenario paths are the shipped ones);
// `shell_prefix` goes before the binary in the shell command (e.g. "ulimit -v N && ").
CommandResult run_dmlsim(const std::string& args, const std::string& shell_prefix = "");

// Runs `body` in a forked child (dmlsim::run_in_child) and returns what it returned, or throws with
// what the child reported if it threw or crashed.
std::string in_child(const std::function<std::string()>& body);

// A SimGrid engine for a simulation inside a test's forked child (see in_child), with SimGrid's
// announcements of configuration changes silenced.
std::unique_ptr<simgrid::s4u::Engine> make_engine();

// A shipped scenario (path relative to the source directory) made movable: its relative paths
// ("../../platforms/…", "../../data/…") absolute, and `before_end` inserted before </scenario>,
// so a test can write a variant into its own temporary directory instead of beside the original.
std::string relocated_scenario(const std::string& shipped, const std::string& before_end = "");

void write_text(const std::filesystem::path& file, const std::string& text);
std::string read_text(const std::filesystem::path& file);
std::filesystem::path source_dir();

// scenarios/seed/ssgd.xml with standardised data, a fresh batch every step and batch means, then
// `sets` ("element.attribute=value"): the base of the identity tests between algorithms.
Experiment standardized_seed_experiment(const std::vector<std::string>& sets);

// Worker 0 alone running plain SGD with step `eta` for the experiment's rounds (step t uses the
// batch of round t): the model after every step.
std::vector<Vector> sequential_sgd(const Experiment& experiment, double eta);

// The global model after every `every`-th round (or server update) of the sequential driver.
std::vector<Vector> trajectory(const Experiment& experiment, int every = 1);
// Largest relative difference between two trajectories, parameter by parameter (infinity when
// their lengths differ).
double max_relative_difference(const std::vector<Vector>& a, const std::vector<Vector>& b);
// A SimGrid platform file's text: one zone `zone_id`, routing Full, holding `body` (hosts, links,
// routes).
std::string full_zone_platform(const std::string& body, const std::string& zone_id = "z");
// One full-duplex link used UP from a to b and DOWN back: a <route> between hosts, or a <zoneRoute>
// between zones through their first hosts ("<zone>h0").
std::string both_ways(const std::string& element, const std::string& a, const std::string& b, const std::string& link);
// A star platform: host "server" and workers w0 … w(K-1), each on its own link to the server; the
// last worker is the straggler (its own speed and latency).
struct StarSpec {
  std::string speed = "1Gf", latency = "5ms";
  std::string straggler_speed = "1Gf", straggler_latency = "5ms";
};
std::string star_platform(int workers, const StarSpec& spec);
// A scenario, DIR/s.xml, on the standardised breast-cancer seed data under CM02: workers w0 …
// w(K-1) on the hosts of `platform` (written as DIR/star.xml), the server on host "server", then
// `elements` (algorithm, topology, training, report…) from line 7 on.
struct HostScenario {
  std::string name;
  int seed = 2;
  int workers = 4;
  std::string platform, elements;
};
std::filesystem::path write_host_scenario(const std::filesystem::path& dir, const HostScenario& scenario);
// The failure tests' scenario: `algorithm` (MA with 3 local steps unless told) on the standardised breast-cancer seed data, a
// logistic model of `sim-parameters` 120000, CM02 without cross-traffic, the workers on `hosts`
// (comma-separated) of `platform_file`, then `layout` (<server>, <topology>), `rounds` rounds and
// `failures`, scenario seed `seed`. Written as DIR/NAME.xml and run with --save-weights into DIR/out-NAME.
struct FailureScenario {
  std::string scenario_name, platform_file, hosts, layout, failures;
  int rounds = 6;
  std::string forward_flops = "0";  // per sample: makes compute (and a charged evaluation) take time
  bool charge_eval = false;
  std::string algorithm = R"(<algorithm name="ma" eta="0.05" local-steps="3"/>)";
  int seed = 3;
};
struct SavedRun {
  CommandResult result;
  std::filesystem::path out;
};
SavedRun run_failure_scenario(const std::filesystem::path& dir, const std::string& name, const FailureScenario& scenario);
// The README's tables of the large profile: for each (OPTIONS, utilisation in % to one decimal)
// runs `dmlsim run -q BASE OPTIONS --out DIR/r` and expects summary.json's utilisation; `also`
// checks more of row `row`'s summary. Stops at the first run that does not exit 0.
using SummaryCheck = std::function<void(std::size_t row, const nlohmann::json& summary)>;
void expect_utilisation(const std::filesystem::path& dir, const std::string& base,
                        const std::vector<std::pair<std::string, std::string>>& rows, const SummaryCheck& also = nullptr);
// The README's WAN examples: for each (extra options, time to 0.95 as printed, round, bytes) runs
// `dmlsim run SCENARIO OPTIONS --out DIR/r` and expects its `target 0.95` line.
void expect_target_lines(const std::filesystem::path& dir, const std::string& scenario,
                         const std::vector<std::tuple<std::string, std::string, int, int>>& rows);
// The parameters of a run's weights.csv (--save-weights).
Vector read_weights(const std::filesystem::path& file);
// Column `name` of a run's rounds.csv, one value per round (throws if there is no such column).
std::vector<double> rounds_column(const std::filesystem::path& out, const std::string& name);

}  // namespace dmlsim::testutil
