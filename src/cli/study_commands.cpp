#include "cli/study_commands.hpp"

#include "study/sweep.hpp"
#include "study/table.hpp"
#include "util/quote.hpp"

#include <iostream>
#include <memory>

namespace dmlsim {

namespace {

struct TableCliOptions {
  std::string dir;
  std::vector<double> targets;
  std::vector<std::string> by;
  std::string baseline;
  std::string smooth = "raw";
  std::string format = "md";
  bool breakdown = false;
  bool wan_bytes = false;
  bool utilisation = false;
  bool energy = false;
};

int table_command(const TableCliOptions& o, bool by_given) {
  study::StudyResults results;
  try {
    results = study::read_results(o.dir);
  } catch (const std::exception& e) {
    std::cerr << "dmlsim: " << printable(e.what()) << '\n';
    return 2;
  }
  try {
    study::TableOptions options;
    options.targets = o.targets;
    if (by_given) options.by = o.by;
    options.baseline = o.baseline;
    options.ewma_alpha = study::parse_smoothing(o.smooth);
    options.breakdown = o.breakdown;
    options.wan_bytes = o.wan_bytes;
    options.utilisation = o.utilisation;
    options.energy = o.energy;
    std::cout << study::format_table(study::build_table(results, options), o.format);
    return 0;
  } catch (const std::invalid_argument& e) {
    std::cerr << "dmlsim: table " << printable(std::string(o.dir)) << ": " << printable(e.what()) << '\n';
    return 2;
  }
}

}  // namespace

std::function<int()> add_study_commands(CLI::App& app) {
  auto sweep_options = std::make_shared<study::SweepOptions>();
  auto* sweep = app.add_subcommand("sweep", "Run every pending run of a study, N at a time (resumes; --list for GNU parallel)");
  sweep->add_option("study", sweep_options->study, "Study XML file")->required();
  sweep->add_option("-j,--jobs", sweep_options->jobs, "Runs at a time (default: the number of cores)")->check(CLI::PositiveNumber);
  sweep->add_option("-o,--out", sweep_options->out, "Results directory (overrides the study's output attribute)");
  sweep->add_flag("-l,--list", sweep_options->list,
                  "Print one self-contained shell command per pending run (e.g. | parallel -j 8) instead of running");

  auto table_options = std::make_shared<TableCliOptions>();
  auto* table = app.add_subcommand("table", "Time-to-accuracy table of a study's results directory");
  table->add_option("results", table_options->dir, "Results directory (with study.json and manifest.csv)")->required();
  table->add_option("-t,--target", table_options->targets, "Target accuracy (repeatable; default: the scenarios' targets)");
  auto* by = table->add_option("--by", table_options->by, "Group rows by these axes (comma-separated; default: all but the seed; 'none': one row)")
                 ->delimiter(',');
  table->add_option("-b,--baseline", table_options->baseline, "Row to compute speedups against: AXIS=VALUE, e.g. algorithm=ssgd");
  table->add_option("--smooth", table_options->smooth, "Curve for time to accuracy: raw (default) or ewma:ALPHA");
  table->add_option("--format", table_options->format, "md (default), csv or tex")->check(CLI::IsMember({"md", "csv", "tex"}));
  table->add_flag("--breakdown", table_options->breakdown, "Also show mean compute / comm / wait time and comm/compute ratio");
  table->add_flag("--wan-bytes", table_options->wan_bytes, "Also show the bytes sent between platform zones (WAN) to each target");
  table->add_flag("--utilisation", table_options->utilisation,
                  "Also show the compute utilisation (compute time / simulated time, mean over workers and runs)");
  table->add_flag("--energy", table_options->energy, "Also show the joules to each target and of the whole run (scenarios with <energy/>)");

  return [=]() -> int {
    if (sweep->parsed()) return study::sweep_command(*sweep_options);
    if (table->parsed()) return table_command(*table_options, by->count() > 0);
    return -1;
  };
}

}  // namespace dmlsim
