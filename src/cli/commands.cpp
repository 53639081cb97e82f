#include "cli/commands.hpp"

#include "algorithms/registry.hpp"

#include "experiment/sequential_driver.hpp"
#include "report/outputs.hpp"
#include "scenario/scenario.hpp"
#include "sim/config_check.hpp"
#include "sim/simulation.hpp"
#include "util/atomic_file.hpp"
#include "util/child_process.hpp"
#include "util/quote.hpp"

#include <chrono>
#include <csignal>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <iostream>
#include <set>

namespace dmlsim {

namespace {

struct Loaded {
  Scenario scenario;
  ConfigList cfg;
};

Loaded load(const RunOptions& options) {
  std::vector<Override> overrides;
  for (const auto& text : options.sets) {
    try {
      overrides.push_back(parse_override(text));
    } catch (const std::invalid_argument& e) {
      throw ScenarioError("command line", 0, e.what());
    }
  }
  Loaded loaded{load_scenario(options.scenario, overrides), {}};
  for (const auto& text : options.cfgs) {
    const auto colon = text.find(':');
    if (colon == std::string::npos || colon == 0)
      throw ScenarioError("command line", 0, fmt::format("--cfg {}: expected KEY:VALUE, e.g. network/model:LV08", text));
    loaded.cfg.emplace_back(text.substr(0, colon), text.substr(colon + 1));
  }
  try {
    check_simgrid_config(loaded.cfg);
  } catch (const std::invalid_argument& e) {
    throw ScenarioError("command line", 0, fmt::format("--cfg: {}", e.what()));
  }
  try {
    use_log_settings(options.logs);
  } catch (const std::invalid_argument& e) {
    throw ScenarioError("command line", 0, e.what());
  }
  for (const auto& text : options.links) {
    try {
      loaded.scenario.platform.links.push_back(parse_link_option(text));
    } catch (const std::invalid_argument& e) {
      throw ScenarioError("command line", 0, e.what());
    }
  }
  if (!options.network_profile.empty()) {
    try {
      auto& network = loaded.scenario.network;
      network.profile = load_network_profile(find_network_profile(options.network_profile, "."));
      network.model = network.profile->model;
    } catch (const std::invalid_argument& e) {
      throw ScenarioError("command line", 0, fmt::format("--network-profile: {}", e.what()));
    }
  }
  if (!options.output_dir.empty()) loaded.scenario.output_dir = options.output_dir;
  for (const auto& note : loaded.scenario.notes) std::cerr << note << '\n';
  return loaded;
}

std::string target_text(const TargetHit& hit) {
  if (!hit.first) return fmt::format("{:.4g}: not reached", hit.target);
  return fmt::format("{:.4g}: {:.6g} s (round {}, {} bytes)", hit.target, hit.first->sim_time, hit.first->round,
                     hit.first->bytes_sent);
}

std::string server_text(const RunContext& c) {
  return c.server_host.empty() ? "no server" : "server " + c.server_host;
}

// "ma (eta=0.1, local-steps=5)": every resolved hyper-parameter, defaults included.
std::string algorithm_text(const AlgorithmParams& params) {
  const auto algorithm = describe_algorithm(params);
  std::string values;
  for (std::size_t i = 1; i < algorithm.size(); ++i)
    values += fmt::format("{}{}={}", i > 1 ? ", " : "", algorithm[i].first, attribute_text(algorithm[i].second));
  return fmt::format("{} ({})", attribute_text(algorithm.front().second), values);
}

void print_summary(const Scenario& s, const RunContext& c, const RunRecord& r) {
  const auto& last = r.rows.back();
  fmt::print("scenario     {} ({})\n", s.name, s.file.string());
  fmt::print("algorithm    {}\n", algorithm_text(s.algorithm));
  fmt::print("model        {}{}\n", c.model_description,
             c.profiled ? fmt::format(" (simulated as a profile: {:g} parameters, {:g} forward FLOPs per sample)",
                                      c.simulated_parameters, c.prediction_flops_per_sample)
                        : "");
  fmt::print("platform     {} ({}, {} workers, topology {})\n", s.platform.file.string(), server_text(c),
             s.workers.count, s.topology.kind);
  fmt::print("network      {}\n", c.network_description);
  if (s.compression.present) {
    const auto& z = s.compression.spec;
    fmt::print("payloads     {}{}, {} bytes per whole-vector message\n", format_name(z.format),
               z.sparsify == Sparsifier::None ? "" : fmt::format(", {} k={}", sparsifier_name(z.sparsify), z.k),
               c.message_bytes);
  }
  fmt::print("rounds       {} of {} (stopped by: {})\n", r.rounds_done, s.training.rounds, r.stop_reason);
  fmt::print("sim time     {:.6f} s (wall {:.2f} s)\n", r.sim_time, c.wall_time);
  if (r.sim_time > 0 && !r.workers.empty()) {
    double compute = 0;
    for (const auto& w : r.workers) compute += w.compute_time;
    fmt::print("utilisation  {:.1f} % (compute time / simulated time, mean over workers)\n",
               100 * compute / static_cast<double>(r.workers.size()) / r.sim_time);
  }
  if (!c.failures.is_null()) {
    const auto& f = c.failures;
    const auto unexplained = f["missed_without_failure"].get<std::uint64_t>();
    const auto not_reached = std::count_if(f["events"].begin(), f["events"].end(),
                                           [](const auto& e) { return e.contains("not_reached"); });
    fmt::print("failures     {} events{}, {} uploads missed ({} partition rows), workers out at the end: {}{}\n",
               f["events"].size(),
               not_reached ? fmt::format(" ({} not reached: the run ended before their round or time)", not_reached) : "",
               f["missed_uploads"].get<std::uint64_t>(), f["rows_missed"].get<std::uint64_t>(),
               f["workers_out_at_end"].dump(),
               unexplained ? fmt::format("; {} later than the timeout with nothing failed (timeout too short?)", unexplained)
                           : "");
  }
  fmt::print("final        test accuracy {:.6f}, test loss {:.6g}\n", last.test_accuracy, last.test_loss);
  for (const auto& hit : time_to_accuracy(r.rows, s.report.targets)) fmt::print("target       {}\n", target_text(hit));
  fmt::print("output       {}/\n", s.output_dir.string());
}

template <typename Body>
int guarded(const RunOptions& options, Body body) {
  try {
    return body();
  } catch (const ScenarioError& e) {
    std::cerr << "dmlsim: " << printable(e.what()) << '\n';
    return kExitBadInput;
  } catch (const SimulationFailure& e) {
    std::cerr << "dmlsim: " << printable(options.scenario) << ": " << printable(e.what()) << '\n';
    return kExitRunFailed;
  } catch (const OutputError& e) {
    std::cerr << "dmlsim: " << printable(options.scenario) << ": the results could not be written, none were: " << printable(e.what()) << '\n';
    return kExitRunFailed;
  } catch (const std::exception& e) {
    std::cerr << "dmlsim: " << printable(options.scenario) << ": " << printable(e.what()) << '\n';
    return 1;
  }
}

}  // namespace

int run_command(const RunOptions& options) {
  return guarded(options, [&] {
    auto loaded = load(options);
    // A benchmark baseline is not a result: without -o it goes beside the real run's directory.
    if (options.bare && options.output_dir.empty()) {
      auto& dir = loaded.scenario.output_dir;
      if (!dir.has_filename()) dir = dir.parent_path();
      dir += "-bare";
    }
    const auto& s = loaded.scenario;
    check_output_directory(s);
    Simulation simulation(s, loaded.cfg);
    // SimGrid ends the process when the simulation cannot go on (an exception escaping an actor, as
    // when a host of the platform fails under it; xbt_die): the run happens in a child, so that such
    // an end is a failed run, exit 3, after SimGrid's own diagnosis and with no results written.
    std::string ending;
    const int code = run_as_child(
        [&] {
          return guarded(options, [&] {
            const auto& record = simulation.run(options.bare);
            NamedContents extra;
            if (!options.identity.empty()) extra.emplace_back("identity", options.identity + "\n");
            if (const auto trace = simulation.trace().contents()) extra.emplace_back(simulation.trace().name(), *trace);
            write_outputs(s, simulation.context(), record, simulation.experiment().train.feature_names,
                          options.save_weights, extra);
            if (!options.quiet) print_summary(s, simulation.context(), record);
            return 0;
          });
        },
        ending);
    if (ending.empty()) return code;
    remove_abandoned_temporaries(s.output_dir);
    if (termination_request(code - 128)) {  // stopped, as the child was: end the same way
      std::signal(code - 128, SIG_DFL);
      std::raise(code - 128);
    }
    std::cerr << "dmlsim: " << printable(options.scenario) << ": the simulation was ended inside SimGrid (" << ending
              << "; its diagnosis is above): the run failed and no results were written\n";
    return kExitRunFailed;
  });
}

int baseline_command(const RunOptions& options) {
  return guarded(options, [&] {
    const auto loaded = load(options);
    const auto& s = loaded.scenario;
    const auto experiment = build_experiment(s);
    const auto start = std::chrono::steady_clock::now();
    // Under the run monitor: evaluates at the same rounds and stops as the simulator does.
    std::string failure;
    const auto record = run_sequential(experiment, monitor_rules(s), failure);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("{}\n", nlohmann::json{{"wall_time", wall}, {"rounds", record.rounds_done},
                                      {"final_accuracy", record.rows.back().test_accuracy}}.dump());
    return failure.empty() ? 0 : kExitRunFailed;
  });
}

// A '|' inside a Markdown table cell (even in code) must be escaped.
std::string escape_pipes(const std::string& text) {
  std::string out;
  for (const char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// Every registered algorithm with its attributes: plain text, or the Markdown table of the README.
int algorithms_command(bool markdown) {
  if (markdown) {
    fmt::print("| algorithm | attribute | type | default | allowed | meaning |\n|---|---|---|---|---|---|\n");
    for (const auto* algorithm : registered_algorithms()) {
      fmt::print("| `{}` | | | | | {} |\n", algorithm->name, algorithm->summary);
      for (const auto& spec : algorithm->attributes)
        fmt::print("| | `{}` | {} | {} | `{}` | {} |\n", spec.name, type_name(spec.type),
                   spec.required ? "required" : fmt::format("`{}`", attribute_text(spec.default_value)),
                   escape_pipes(spec.allowed_text()), spec.doc);
    }
    return 0;
  }
  const auto default_text = [](const AttributeSpec& spec) {
    return spec.required ? std::string("required") : "default " + attribute_text(spec.default_value);
  };
  std::size_t name_width = 0, default_width = 0, allowed_width = 0;
  for (const auto* algorithm : registered_algorithms())
    for (const auto& spec : algorithm->attributes) {
      name_width = std::max(name_width, spec.name.size());
      default_width = std::max(default_width, default_text(spec).size());
      allowed_width = std::max(allowed_width, spec.allowed_text().size());
    }
  for (const auto* algorithm : registered_algorithms()) {
    fmt::print("{}: {}\n", algorithm->name, algorithm->summary);
    for (const auto& spec : algorithm->attributes)
      fmt::print("  {:<{}}  {:<7}  {:<{}}  {:<{}}  {}\n", spec.name, name_width, type_name(spec.type), default_text(spec),
                 default_width, spec.allowed_text(), allowed_width, spec.doc);
  }
  return 0;
}

int validate_command(const RunOptions& options) {
  return guarded(options, [&] {
    const auto loaded = load(options);
    Simulation simulation(loaded.scenario, loaded.cfg);
    const auto& c = simulation.context();
    const std::set<std::string> hosts(c.worker_hosts.begin(), c.worker_hosts.end());
    // The network exactly as `run` describes it: the profile, not only the model it builds on.
    fmt::print("{}: valid ({} workers on {} hosts, {}, topology {}, {} parameters)\nnetwork      {}\n", options.scenario,
               loaded.scenario.workers.count, hosts.size(), server_text(c), loaded.scenario.topology.kind, c.parameters,
               c.network_description);
    fmt::print("algorithm    {}\n", algorithm_text(loaded.scenario.algorithm));
    return 0;
  });
}

}  // namespace dmlsim
