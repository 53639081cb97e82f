// A study: a set of runs declared by axes over scenario attributes, link properties and base
// scenarios, crossed (Cartesian product; axes inside <zip> advance together) and repeated over
// seeds. Parsing validates every element with the scenario's `file:line: message` errors;
// expansion gives every run a stable, readable id. Format (see scenarios/studies/*.xml):
//
//   <study name="latency-sweep" output="results/studies/latency-sweep" scenario="BASE.xml">
//     <scenarios axis="algorithm">                       (instead of scenario="…": an axis over base
//       <scenario label="ssgd" file="../wan/ssgd.xml"/>   scenarios, paths relative to the study file)
//     </scenarios>
//     <axis name="wan-latency" link="wan-*" property="latency" values="1ms 50ms"/>
//     <axis name="eta" set="algorithm.eta" values="0.05 0.1"/>
//     <axis name="platform" set="platform.file" values="lan.xml wan.xml" labels="lan wan"/>
//                                                        (labels: names in ids, tables and figures)
//     <zip> <axis …/> <axis …/> </zip>                   (same length; advance together)
//     <fixed set="training.rounds" value="20"/>          (applied to every run)
//     <fixed link="wan-*" property="bandwidth" value="10Gbps"/>
//     <seeds from="1" to="5"/>                           (or values="1 3 7")
//   </study>
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dmlsim::study {

enum class AxisKind { Scenario, Set, Link };

struct Axis {
  std::string name;
  AxisKind kind = AxisKind::Set;
  std::string attribute;               // Set: "element.attribute"
  std::string pattern;                 // Link: glob over link names
  std::string property;                // Link: "latency" or "bandwidth"
  std::vector<std::string> labels;     // as written in the study ('labels', else 'values')
  std::vector<std::string> values;     // what is passed to the run (Scenario: absolute file; file paths resolved)
  std::optional<std::vector<double>> numeric;  // seconds, bytes/s, or the number; empty if not all numeric
  int group = 0;                       // axes with the same group advance together (zip)
  int line = 0;
};

struct Fixed {
  AxisKind kind = AxisKind::Set;  // Set or Link
  std::string attribute;
  std::string pattern;
  std::string property;
  std::string value;
  int line = 0;
};

struct Study {
  std::filesystem::path file;        // absolute
  std::string name;
  std::filesystem::path output_dir;  // relative to the current directory unless absolute
  std::filesystem::path base_scenario;  // absolute; empty when a scenario axis exists
  std::vector<Axis> axes;            // in study order
  std::vector<Fixed> fixed;
  std::vector<std::uint64_t> seeds;
  int line = 0;                      // line of <study>
};

struct Run {
  std::string id;
  std::filesystem::path scenario;      // absolute
  std::vector<std::string> labels;     // one per axis, in study order
  std::uint64_t seed = 0;
  std::vector<std::string> sets;       // ELEMENT.ATTRIBUTE=VALUE (without the seed)
  std::vector<std::string> links;      // PATTERN:property=VALUE
  std::string identity;                // run_identity(), once computed; passed as --identity
  std::vector<std::string> run_args() const;  // arguments after "dmlsim run"
};

// Reads and validates a study. Throws ScenarioError ("file:line: message").
Study load_study(const std::filesystem::path& file);

// All runs, in a fixed order (axes in study order, the last one fastest, seeds innermost).
// Throws ScenarioError if two runs would get the same id.
std::vector<Run> expand(const Study& study);

// Loads each run's scenario with its overrides (no simulation) so a bad value fails before any
// run starts. Throws ScenarioError naming the study line and the run.
void check_runs(const Study& study, const std::vector<Run>& runs);

// A digest (16 hex digits) of everything that decides the run's results: the text of its scenario
// and of every file the scenario names (platform, data, network profile), its overrides and seed.
// A finished run whose recorded identity differs is run again. Throws ScenarioError.
std::string run_identity(const Run& run);

// Keeps [A-Za-z0-9._-], replaces anything else with '-'.
std::string sanitize(const std::string& text);

// The files of a results directory (see the README: study.json, manifest.csv).
std::string study_json(const Study& study);
std::string manifest_csv(const Study& study, const std::vector<Run>& runs);

// One CSV field, quoted when needed (RFC 4180).
std::string csv_field(const std::string& text);
// Splits one CSV line (RFC 4180 quoting, no embedded newlines).
std::vector<std::string> split_csv_line(const std::string& line);

}  // namespace dmlsim::study
