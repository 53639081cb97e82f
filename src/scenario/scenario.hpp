// A scenario: everything one simulated training run needs, read from an XML file (format in the
// README). Parsing validates every attribute; `Scenario` holds resolved, typed values plus the
// source line of the elements whose values are only checkable later (hosts, link patterns).
#pragma once

#include "sim/slowdown.hpp"
#include "algorithms/algorithm.hpp"
#include "data/dataset.hpp"
#include "data/partition.hpp"
#include "model/batch.hpp"
#include "model/init.hpp"
#include "scenario/network_profile.hpp"
#include "util/quote.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dmlsim {

// "file:line: message" — the one error format for bad input ("file: message" when no line applies,
// e.g. an unreadable file or a command-line option). One line: control bytes of a file name or of
// input text the message quotes are shown escaped (see util/quote.hpp).
class ScenarioError : public std::runtime_error {
 public:
  ScenarioError(const std::string& file, int line, const std::string& message)
      : std::runtime_error(printable(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + message)) {}
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

// <network model="..."/> or <network profile="NAME|FILE"/> (the profile sets the model and its
// options), plus <config> items applied after the profile's.
// The network of a scenario that names none: profiles/linux-tcp.xml.
inline constexpr const char* kDefaultNetworkProfile = "linux-tcp";

struct NetworkSpec : Located {
  std::string model = "CM02";
  std::optional<NetworkProfile> profile;
  std::vector<std::pair<std::string, std::string>> config;  // SimGrid --cfg items, in order
};

enum class DataFormat { Csv, Idx, Libsvm };

struct DataSpec : Located {
  DataFormat format = DataFormat::Csv;
  std::filesystem::path file;        // one file split by the seed, or…
  std::filesystem::path train_file;  // …explicit train and test files
  std::filesystem::path test_file;
  std::filesystem::path train_labels;  // IDX only
  std::filesystem::path test_labels;
  std::string label = "last";          // CSV only
  double test_fraction = 0.3;
  bool standardize = false;
  double scale = 255.0;       // IDX: pixels are divided by it
  long features = 0;          // LIBSVM: dimension (0 = largest index)
  long train_rows = 0;        // keep only the first N rows (0 = all)
  long test_rows = 0;
  bool float32 = false;       // storage precision of the features
};

struct ModelSpec : Located {
  std::string type = "logistic";  // logistic | softmax | mlp
  std::vector<long> hidden;       // MLP hidden layer sizes
  InitSpec init;
  // A model profile: simulate the message size and compute of a larger model while this one
  // trains for accuracy. Gradient FLOPs are taken as 3 × the forward FLOPs.
  std::optional<double> sim_parameters;
  std::optional<double> sim_forward_flops;
};

enum class Placement { Hosts, Pattern, Zones };

struct WorkersSpec : Located {
  int count = 0;
  Placement placement = Placement::Zones;
  std::vector<std::string> hosts;  // Placement::Hosts
  std::string pattern;             // Placement::Pattern
  PartitionSpec partition;
  SlowdownSpec slowdown;  // stragglers: compute-time factors (src/sim/slowdown.hpp)
};

struct ServerSpec : Located {
  std::string host;  // empty: no <server> (topologies without one)
};

// <topology kind="..." .../>: how bytes move in a round (src/sim/topology/). The kind is checked
// against the simulator's table of topologies when the platform is loaded.
struct TopologySpec : Located {
  std::string kind = "parameter-server";
  int arity = 2;            // tree: children per node (k-ary)
  bool binomial = false;    // tree: binomial instead of k-ary
  bool across_ring = true;  // hierarchical: ring (else star) among the zone leaders
  bool kind_given = false;  // the kind was written (else a decentralized algorithm picks "gossip")
  std::string graph = "ring";          // gossip: ring, torus, complete, file
  std::filesystem::path graph_file;    // gossip, graph="file": the edge list…
  std::vector<std::pair<int, int>> edges;  // …as read from it
};

// <compression format="..." sparsify="..." k="..."/>: payload transform of every vector message
// (src/compression/). Absent: fp64, no sparsification (messages of bytes-per-param per value).
struct CompressionElement : Located {
  bool present = false;
  CompressionSpec spec;
};

struct TrainingSpec : Located {
  int rounds = 100;
  int bytes_per_param = 8;
  int header_bytes = 64;
  int eval_every = 1;
  bool charge_eval = false;
  long eval_rows = 0;        // test rows evaluated (0 = all)
  long train_loss_rows = 0;  // training rows behind the train_loss column (0 = all)
};

struct StopSpec : Located {
  std::optional<double> target_accuracy;
  std::optional<double> max_time;  // seconds of simulated time
};

struct ReportSpec : Located {
  std::vector<double> targets;
  double ewma_alpha = 0.9;
  // Evaluate at the first update at or after every multiple of this simulated time, instead of
  // every training.eval_every rounds (asynchronous runs have no rounds to count).
  std::optional<double> eval_every_time;
};

// <energy>: SimGrid's host energy plugin (src/world/energy.*). Hosts without a
// wattage_per_state / wattage_off property get these powers. links="true" adds SimGrid's link
// energy plugin; links without a wattage_range property get link_idle:link_busy.
struct EnergySpec : Located {
  bool enabled = false;
  double host_idle = 100, host_busy = 200, host_off = 10;  // watts
  bool links = false;
  double link_idle = 10, link_busy = 20;  // watts
};

// <background><flow from="HOST" to="HOST" [rate="500Mbps"] [on="2s" off="3s"]/>…</background>:
// competing traffic (src/world/background.*). Without rate a flow takes what the network model
// gives it; with on/off it alternates periods drawn (exponential, these means) from the seed.
struct BackgroundFlow : Located {
  std::string from, to;
  std::optional<double> rate;     // bytes per second
  std::optional<double> on, off;  // mean seconds
};

struct BackgroundSpec : Located {
  std::vector<BackgroundFlow> flows;
};

// <failures timeout="30s"><host name="H" at="120s"|round="5" [for="60s"]/><link name="L" …/>
// <random mtbf="1h" [mttr="5m"]/></failures>: hosts and links that go down mid-run on SimGrid's own
// resource state (src/world/failures.*). `timeout`: how long a synchronous server waits for an
// upload before it goes on with the uploads it has.
struct FailureSpec : Located {
  bool link = false;             // a link, else a host
  std::string name;
  std::optional<double> at;      // seconds of simulated time, or…
  std::optional<int> round;      // …at the start of this round
  std::optional<double> down_for;  // seconds down before it comes back; empty: stays down
};

struct RandomFailureSpec : Located {
  double mtbf = 0;               // mean seconds between failures of each worker host
  std::optional<double> mttr;    // mean seconds to repair; empty: a failed host stays down
};

struct FailuresSpec : Located {
  bool present = false;
  double timeout = 0;  // seconds
  std::vector<FailureSpec> events;
  std::optional<RandomFailureSpec> random;
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
  TopologySpec topology;
  AlgorithmParams algorithm;
  BatchSpec batch;
  TrainingSpec training;
  CompressionElement compression;
  StopSpec stop;
  ReportSpec report;
  EnergySpec energy;
  BackgroundSpec background;
  FailuresSpec failures;
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

// The algorithm's name, then every attribute with its typed value, then derived values, for
// summaries and run headers.
std::vector<std::pair<std::string, AttributeValue>> describe_algorithm(const AlgorithmParams& params);

}  // namespace dmlsim
