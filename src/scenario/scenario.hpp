// A scenario: everything one simulated training run needs, read from an XML file (format in the
// README). Parsing validates every attribute; `Scenario` holds resolved, typed values plus the
// source line of the elements whose values are only checkable later (hosts, link patterns).
#pragma once

#include "algorithms/algorithm.hpp"
#include "data/dataset.hpp"
#include "model/batch.hpp"
#include "model/init.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dmlsim {

// "file:line: message" — the one error format for bad input.
class ScenarioError : public std::runtime_error {
 public:
  ScenarioError(const std::string& file, int line, const std::string& message)
      : std::runtime_error(file + ":" + std::to_string(line) + ": " + message) {}
};

struct Located {
  int line = 0;  // line of the element in the scenario file
};

struct LinkOverride : Located {
  std::string pattern;  // glob over link names (fnmatch)
  std::optional<double> latency;    // seconds
  std::optional<double> bandwidth;  // bytes per second
  std::string command_line;  // the --link text when it came from the command line, else empty
};

// A command-line link override: "PATTERN:latency=50ms,bandwidth=1Gbps" (either or both).
// Throws std::invalid_argument.
LinkOverride parse_link_option(const std::string& text);

struct PlatformSpec : Located {
  std::filesystem::path file;
  std::vector<LinkOverride> links;
};

struct NetworkSpec : Located {
  std::string model = "CM02";
  std::vector<std::pair<std::string, std::string>> config;  // SimGrid --cfg items, in order
};

struct DataSpec : Located {
  std::filesystem::path file;        // one file split by the seed, or…
  std::filesystem::path train_file;  // …explicit train and test files
  std::filesystem::path test_file;
  std::string label = "last";
  double test_fraction = 0.3;
  bool standardize = false;
};

struct ModelSpec : Located {
  std::string type = "logistic";
  InitSpec init;
};

enum class Placement { Hosts, Pattern, Zones };

struct WorkersSpec : Located {
  int count = 0;
  Placement placement = Placement::Zones;
  std::vector<std::string> hosts;  // Placement::Hosts
  std::string pattern;             // Placement::Pattern
  PartitionScheme partition = PartitionScheme::Contiguous;
};

struct ServerSpec : Located {
  std::string host;
};

struct TrainingSpec : Located {
  int rounds = 100;
  int bytes_per_param = 8;
  int header_bytes = 64;
  int eval_every = 1;
  bool charge_eval = false;
};

struct StopSpec : Located {
  std::optional<double> target_accuracy;
  std::optional<double> max_time;  // seconds of simulated time
};

struct ReportSpec : Located {
  std::vector<double> targets;
  double ewma_alpha = 0.9;
};

struct Scenario {
  std::filesystem::path file;
  std::string name;
  std::uint64_t seed = 1;
  PlatformSpec platform;
  NetworkSpec network;
  DataSpec data;
  ModelSpec model;
  WorkersSpec workers;
  ServerSpec server;
  AlgorithmParams algorithm;
  BatchSpec batch;
  TrainingSpec training;
  StopSpec stop;
  ReportSpec report;
  std::filesystem::path output_dir;
  std::vector<std::string> notes;  // warnings found while parsing (e.g. attributes the algorithm ignores)
};

// A command-line override: "element.attribute=value" (e.g. "algorithm.local-steps=10").
struct Override {
  std::string element;
  std::string attribute;
  std::string value;
  std::string text;  // as typed, for messages
};
Override parse_override(const std::string& text);  // throws std::invalid_argument

// Reads, overrides, validates. Relative paths in the file are resolved against its directory;
// the output directory is relative to the current directory. Throws ScenarioError.
Scenario load_scenario(const std::filesystem::path& file, const std::vector<Override>& overrides = {});

// "name=value" pairs of every resolved parameter, for summaries and manifests.
std::vector<std::pair<std::string, std::string>> describe_algorithm(const AlgorithmParams& params);

}  // namespace dmlsim
