// dmlsim command line: run a scenario, validate one, sweep a study, tabulate its results, list the algorithms.
#include "cli/commands.hpp"
#include "cli/study_commands.hpp"
#include "cli/platform_command.hpp"
#include "calibrate/calibrate.hpp"
#include "util/quote.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

namespace {

void add_scenario_options(CLI::App& command, dmlsim::RunOptions& options) {
  command.add_option("scenario", options.scenario, "Scenario XML file")->required();
  // Repeatable options take one value each, so `run --set A=1 SCENARIO` leaves SCENARIO positional.
  command.add_option("--set", options.sets, "Override an attribute: ELEMENT.ATTRIBUTE=VALUE (repeatable)")
      ->type_name("E.A=V")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command.add_option("--cfg", options.cfgs, "SimGrid configuration KEY:VALUE, e.g. network/model:LV08 (repeatable)")
      ->type_name("K:V")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command.add_option("--link", options.links,
                     "Override links matching a glob: PATTERN:latency=50ms,bandwidth=1Gbps (repeatable)")
      ->type_name("P:K=V")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command.add_option("--log", options.logs, "SimGrid logging setting, as SimGrid programs take it, e.g. --log=root.thres:debug")
      ->type_name("CAT.thres:LEVEL")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command.add_option("--network-profile", options.network_profile,
                     "Network profile NAME (profiles/NAME.xml: linux-tcp, cm02, lv08) or FILE, replacing the scenario's")
      ->type_name("NAME|FILE");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dmlsim: simulate distributed machine-learning training on SimGrid platforms"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "dmlsim 0.1.0");

  dmlsim::RunOptions options;
  auto* run = app.add_subcommand("run", "Run a scenario and write rounds.csv and summary.json");
  add_scenario_options(*run, options);
  run->add_option("-o,--out", options.output_dir, "Output directory (overrides <output dir>)");
  run->add_flag("--save-weights", options.save_weights, "Also write the final parameters to weights.csv");
  run->add_option("--identity", options.identity, "Record this run identity in the output directory (used by sweeps)")
      ->type_name("HEX");
  run->add_flag("-q,--quiet", options.quiet, "Print nothing on success");
  run->add_flag("--bare", options.bare,
                "Benchmark baseline: send the same messages and execute the same FLOPs, but train nothing");

  auto* baseline = app.add_subcommand("baseline", "Train the scenario in a plain loop without SimGrid (benchmark baseline)");
  add_scenario_options(*baseline, options);

  auto* validate = app.add_subcommand("validate", "Check a scenario against its data and platform without running it");
  add_scenario_options(*validate, options);

  bool markdown = false;
  auto* algorithms = app.add_subcommand("algorithms", "List the algorithms with their attributes, types, defaults and ranges");
  algorithms->add_flag("--markdown", markdown, "Print the table of the README's algorithm reference");

  const auto run_study_command = dmlsim::add_study_commands(app);
  auto* calibrate = dmlsim::add_calibrate_command(app);
  const auto run_platform_command = dmlsim::add_platform_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help ends the parse as an "error" of code 0, which CLI11 prints; a real error is one line.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "dmlsim: command line: " << dmlsim::printable(e.what()) << " (see --help)\n";
    return dmlsim::kExitBadInput;
  }
  if (run->parsed()) return dmlsim::run_command(options);
  if (baseline->parsed()) return dmlsim::baseline_command(options);
  if (calibrate->parsed()) return dmlsim::run_calibrate_command();
  if (algorithms->parsed()) return dmlsim::algorithms_command(markdown);
  if (const int code = run_study_command(); code >= 0) return code;
  if (const int code = run_platform_command(); code >= 0) return code;
  return dmlsim::validate_command(options);
}
