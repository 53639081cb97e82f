// The files a run writes into its output directory, each atomically:
//   rounds.csv    one row per evaluation (byte-identical for the same scenario and seed)
//   summary.json  every resolved parameter, the network model, final numbers, time to targets
//   weights.csv   the final global parameters at full precision (on request)
#pragma once

#include "util/atomic_file.hpp"

#include "report/run_record.hpp"
#include "scenario/scenario.hpp"

#include <nlohmann/json.hpp>

namespace dmlsim {

// Facts about the simulated platform that only the simulator knows.
struct RunContext {
  std::string network_description;                              // e.g. "CM02 (TCP-gamma lifted)"
  std::vector<std::pair<std::string, std::string>> sim_config;  // every --cfg applied, in order
  std::string server_host;
  std::vector<std::string> worker_hosts;
  std::vector<std::string> applied_link_overrides;  // human-readable
  Eigen::Index parameters = 0;
  std::string model_description;
  bool profiled = false;             // message size and FLOPs come from a declared model profile
  double simulated_parameters = 0;
  double gradient_flops_per_sample = 0;
  double prediction_flops_per_sample = 0;
  std::string class_histogram_csv;   // partitions.csv
  std::uint64_t message_bytes = 0;
  double wall_time = 0;
  nlohmann::ordered_json energy;  // with <energy>: summary.json's "energy" (src/world/energy.hpp)
  nlohmann::ordered_json failures;  // with <failures>: summary.json's "failures" (src/world/failures.hpp)
};

// `energy`: with a column energy_joules (runs with <energy>); `participants`: with a last column
// participants (runs with <failures>).
std::string rounds_csv(const std::vector<RoundRow>& rows, bool energy = false, bool participants = false);
nlohmann::ordered_json summary_json(const Scenario& scenario, const RunContext& context, const RunRecord& record);
std::string weights_csv(const Vector& w, const std::vector<std::string>& names);

// Makes scenario.output_dir hold exactly rounds.csv, partitions.csv, summary.json and (if asked)
// weights.csv, and `extra` files, all at once (write_directory_atomically): no file of an earlier run survives. Throws
// OutputError, and leaves the directory as it was, if it cannot.
// Throws ScenarioError before a run if write_outputs would refuse its output directory (one that
// exists and holds no result of dmlsim: a mistyped --out must not wipe it).
void check_output_directory(const Scenario& scenario);

void write_outputs(const Scenario& scenario, const RunContext& context, const RunRecord& record,
                   const std::vector<std::string>& feature_names, bool save_weights, const NamedContents& extra = {});

}  // namespace dmlsim
