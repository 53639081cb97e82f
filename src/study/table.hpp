// Time-to-accuracy tables over a study's results directory (study.json, manifest.csv,
// runs/<id>/{summary.json,rounds.csv}). Definition as in DAWNBench: the time to a target is the
// simulated time of the first evaluation whose test accuracy (raw, or EWMA-smoothed on request)
// is at or above the target. Per row (a group of runs sharing the --by axis values) and target:
// the median over the seeds that reached it of time (with min and max), rounds and bytes, how
// many reached it ("k/n": a run that never reaches the target, or failed (diverged), still counts
// in n; a run not run yet does not), and the
// speedup over the baseline row (baseline median time / row median time); final accuracy as
// mean ± sample standard deviation.
#pragma once

#include "report/run_record.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dmlsim::study {

// Median of a non-empty list (mean of the two middle values for an even count).
double median(std::vector<double> values);

struct MeanStd {
  double mean = 0;
  std::optional<double> std;  // sample standard deviation (n - 1); empty when n < 2
};
MeanStd mean_std(const std::vector<double>& values);

struct RunResult {
  std::string id;
  std::vector<std::string> labels;  // one per axis of StudyResults::axes (the seed last)
  bool present = false;             // summary.json was found and read
  bool failed = false;              // no summary.json but an error.txt: counts as not reaching any target
  std::string missing_reason;       // when not present
  std::vector<RoundRow> rows;
  double final_accuracy = 0;
  double sim_time = 0;              // simulated time of the whole run
  double compute_time = 0, comm_time = 0, wait_time = 0;
  std::optional<double> comm_compute_ratio;
  std::optional<double> utilisation;  // compute time / simulated time, mean over workers
  std::string network;              // e.g. "CM02 (network/TCP-gamma=0)"
  std::vector<double> targets;      // the scenario's report targets
  std::optional<double> energy;     // joules of the whole run (scenarios with <energy>)
  std::optional<double> link_energy, wan_link_energy;  // links' joules (<energy links="true">; WAN: zoned platforms)
};

struct StudyResults {
  std::string name;
  std::vector<std::string> axes;                       // study axes, then "seed"
  std::vector<std::vector<std::string>> axis_values;   // values in study order (for sorting rows)
  std::vector<RunResult> runs;                         // in manifest order
};

// Reads a results directory. Throws std::runtime_error naming the file on malformed input.
StudyResults read_results(const std::filesystem::path& dir);

// Reads rounds.csv text. Throws std::runtime_error.
std::vector<RoundRow> parse_rounds_csv(const std::string& text, const std::string& name);

struct TableOptions {
  std::vector<double> targets;                 // empty: the targets of the runs' scenarios
  std::optional<std::vector<std::string>> by;  // empty: every axis except the seed; {"none"}: one row
  std::string baseline;                        // AXIS=VALUE, or empty
  std::optional<double> ewma_alpha;            // smoothed curve; empty: raw
  bool breakdown = false;
  bool wan_bytes = false;  // also the inter-zone (WAN) bytes to each target
  bool utilisation = false;  // also the compute utilisation (compute time / simulated time)
  bool energy = false;     // also the joules to each target and of the whole run (runs with <energy>)
};

// "raw", "ewma" (alpha 0.9) or "ewma:ALPHA". Throws std::invalid_argument.
std::optional<double> parse_smoothing(const std::string& text);

struct TargetStats {
  std::size_t reached = 0, runs = 0;  // runs: with results plus failed ones
  std::optional<double> median_time, min_time, max_time, median_rounds, median_bytes, speedup;
  std::optional<double> median_wan_bytes;
  std::optional<double> median_energy;  // joules
};

struct TableRow {
  std::vector<std::string> key;    // one label per --by axis
  std::size_t runs = 0, failed = 0, total = 0;  // with results / failed / in the manifest
  std::vector<TargetStats> targets;
  std::optional<MeanStd> final_accuracy;
  std::optional<double> sim_time;  // median over runs of the whole run's simulated time
  std::optional<double> compute_time, comm_time, wait_time, comm_compute_ratio;  // means over runs
  std::optional<MeanStd> utilisation;  // over runs
  std::optional<double> energy;    // median over runs of the whole run's joules
  std::optional<double> link_energy, wan_link_energy;  // medians over the runs that have them
};

// How an axis's values are shown: a numeric axis (every value a number, or a quantity SimGrid's
// unit parser reads) as numbers in one unit, its rows in numeric order; any other axis as its labels
// in study order.
struct AxisScale {
  bool numeric = false;
  std::string unit;  // empty for plain numbers: "ms" when every label is in ms, else the SI unit
  std::vector<double> values;  // one per axis value, in `unit`
  std::vector<std::string> shown;  // as a table shows them: the label without its unit, or the SI value
};
// Throws nothing: an axis whose values do not all read as one kind of quantity is not numeric.
AxisScale axis_scale(const std::vector<std::string>& labels);

struct Table {
  std::string study;
  std::vector<std::string> by;
  std::vector<AxisScale> by_scale;  // one per --by axis
  std::vector<std::vector<std::string>> by_values;  // each --by axis's labels, as in the study
  std::vector<double> targets;
  std::optional<double> ewma_alpha;
  std::string baseline;
  bool breakdown = false;
  bool wan_bytes = false;
  bool utilisation = false;
  bool energy = false;
  bool link_energy = false;  // with energy, when a run counted its links
  std::vector<std::string> networks;
  std::vector<TableRow> rows;
  std::vector<std::pair<std::string, std::string>> missing;  // run id, reason
};

// Throws std::invalid_argument for options that do not fit the results (unknown axis, …).
Table build_table(const StudyResults& results, const TableOptions& options);

// "md" (GitHub table with a caption line), "csv" or "tex" (booktabs tabular).
std::string format_table(const Table& table, const std::string& format);

}  // namespace dmlsim::study
