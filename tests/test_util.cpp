#include "test_util.hpp"

#include "experiment/sequential_driver.hpp"
#include "util/child_process.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <simgrid/s4u/Engine.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace dmlsim::testutil {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "dmlsim-test-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path source_dir() { return DMLSIM_SOURCE_DIR; }

std::unique_ptr<simgrid::s4u::Engine> make_engine() {
  int argc = 2;
  char name[] = "test";
  char quiet[] = "--log=xbt_cfg.thres:warning";
  char* argv[] = {name, quiet, nullptr};
  return std::make_unique<simgrid::s4u::Engine>(&argc, argv);
}

std::string relocated_scenario(const std::string& shipped, const std::string& before_end) {
  const fs::path file = source_dir() / shipped;
  std::string text = read_text(file);
  const std::string relative = "\"../../";
  for (auto at = text.find(relative); at != std::string::npos; at = text.find(relative, at))
    text.replace(at, relative.size(), "\"" + (source_dir().string() + "/"));
  return text.insert(text.rfind("</scenario>"), before_end + "\n");
}

CommandResult run_dmlsim(const std::string& args, const std::string& shell_prefix) {
  const std::string command =
      "cd '" + source_dir().string() + "' && " + shell_prefix + "'" + DMLSIM_BINARY + "' " + args + " 2>&1";
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed");
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) result.out += buffer.data();
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string in_child(const std::function<std::string()>& body) { return run_in_child(body); }

void write_text(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Experiment standardized_seed_experiment(const std::vector<std::string>& sets) {
  std::vector<Override> overrides{parse_override("data.standardize=true"), parse_override("batch.resample=step"),
                                  parse_override("algorithm.average=batch-means")};
  for (const auto& s : sets) overrides.push_back(parse_override(s));
  return build_experiment(load_scenario(source_dir() / "scenarios/seed/ssgd.xml", overrides));
}

std::vector<Vector> sequential_sgd(const Experiment& experiment, double eta) {
  auto trainer = experiment.make_trainer(0);
  Vector w = experiment.initial;
  std::vector<Vector> models;
  for (int step = 1; step <= experiment.rounds; ++step) {
    trainer.sgd_step(w, eta, step, 0);
    models.push_back(w);
  }
  return models;
}

std::vector<Vector> trajectory(const Experiment& experiment, int every) {
  std::vector<Vector> models;
  run_sequential(experiment, [&](int step, const Vector& w) {
    if (step % every == 0) models.push_back(w);
    return true;
  });
  return models;
}

double max_relative_difference(const std::vector<Vector>& a, const std::vector<Vector>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (std::size_t r = 0; r < std::min(a.size(), b.size()); ++r)
    for (Eigen::Index i = 0; i < a[r].size(); ++i) {
      const double scale = std::max({std::abs(a[r](i)), std::abs(b[r](i)), 1e-300});
      worst = std::max(worst, std::abs(a[r](i) - b[r](i)) / scale);
    }
  return worst;
}

Vector read_weights(const std::filesystem::path& file) {
  std::istringstream in(read_text(file));
  std::string line;
  std::getline(in, line);  // header
  std::vector<double> values;
  while (std::getline(in, line)) values.push_back(std::stod(line.substr(line.rfind(',') + 1)));
  return Eigen::Map<Vector>(values.data(), static_cast<Eigen::Index>(values.size()));
}

std::string full_zone_platform(const std::string& body, const std::string& zone_id) {
  return "<?xml version=\"1.0\"?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
         "<platform version=\"4.1\"><zone id=\"" + zone_id + "\" routing=\"Full\">\n" + body + "</zone></platform>\n";
}

std::string both_ways(const std::string& element, const std::string& a, const std::string& b, const std::string& link) {
  const auto gateways = [&](const std::string& from, const std::string& to) {
    return element == "zoneRoute" ? fmt::format(R"( gw_src="{}h0" gw_dst="{}h0")", from, to) : std::string();
  };
  return fmt::format(R"(<{0} src="{1}" dst="{2}"{4} symmetrical="NO"><link_ctn id="{3}" direction="UP"/></{0}>
<{0} src="{2}" dst="{1}"{5} symmetrical="NO"><link_ctn id="{3}" direction="DOWN"/></{0}>
)", element, a, b, link, gateways(a, b), gateways(b, a));
}

std::string star_platform(int workers, const StarSpec& spec) {
  std::string hosts = "<host id=\"server\" speed=\"" + spec.speed + "\"/>\n";
  std::string links, routes;
  for (int k = 0; k < workers; ++k) {
    const bool slow = k == workers - 1;
    const auto id = std::to_string(k);
    hosts += "<host id=\"w" + id + "\" speed=\"" + (slow ? spec.straggler_speed : spec.speed) + "\"/>\n";
    links += "<link id=\"l" + id + "\" bandwidth=\"100MBps\" latency=\"" +
             (slow ? spec.straggler_latency : spec.latency) + "\"/>\n";
    routes += "<route src=\"server\" dst=\"w" + id + "\"><link_ctn id=\"l" + id + "\"/></route>\n";
  }
  return full_zone_platform(hosts + links + routes, "star");
}

void expect_utilisation(const fs::path& dir, const std::string& base,
                        const std::vector<std::pair<std::string, std::string>>& rows, const SummaryCheck& also) {
  for (std::size_t row = 0; row < rows.size(); ++row) {
    const auto& [options, percent] = rows[row];
    ASSERT_EQ(run_dmlsim(fmt::format("run -q {} {} --out {}", base, options, (dir / "r").string())).exit_code, 0) << options;
    const auto j = nlohmann::json::parse(read_text(dir / "r/summary.json"));
    EXPECT_EQ(fmt::format("{:.1f}", 100 * j["time_breakdown"]["utilisation"].get<double>()), percent) << options;
    if (also) also(row, j);
    fs::remove_all(dir / "r");
  }
}

void expect_target_lines(const fs::path& dir, const std::string& scenario,
                         const std::vector<std::tuple<std::string, std::string, int, int>>& rows) {
  for (const auto& [sets, time, round, bytes] : rows) {
    const auto result = run_dmlsim(fmt::format("run {} {} --out {}", scenario, sets, (dir / "r").string()));
    ASSERT_EQ(result.exit_code, 0) << result.out;
    EXPECT_NE(result.out.find(fmt::format("target       0.95: {} s (round {}, {} bytes)", time, round, bytes)),
              std::string::npos)
        << sets << "\n" << result.out;
  }
}

fs::path write_host_scenario(const fs::path& dir, const HostScenario& scenario) {
  write_text(dir / "star.xml", scenario.platform);
  std::string hosts;
  for (int k = 0; k < scenario.workers; ++k) hosts += (k ? ",w" : "w") + std::to_string(k);
  const auto data = (source_dir() / "data").string();
  write_text(dir / "s.xml", "<scenario name=\"" + scenario.name + "\" seed=\"" + std::to_string(scenario.seed) + "\">\n"
             "  <platform file=\"star.xml\"/>\n"
             "  <network model=\"CM02\"/>\n"
             "  <data train=\"" + data + "/breast_cancer_seed_train.csv\" test=\"" + data +
             "/breast_cancer_seed_test.csv\" label=\"target\" standardize=\"true\"/>\n"
             "  <workers count=\"" + std::to_string(scenario.workers) + "\" placement=\"hosts\" hosts=\"" + hosts + "\"/>\n"
             "  <server host=\"server\"/>\n  " + scenario.elements + "\n</scenario>\n");
  return dir / "s.xml";
}

SavedRun run_failure_scenario(const fs::path& dir, const std::string& name, const FailureScenario& scenario) {
  const auto data = source_dir() / "data";
  const auto workers = std::count(scenario.hosts.begin(), scenario.hosts.end(), ',') + 1;
  const auto file = dir / (name + ".xml");
  write_text(file, fmt::format(R"(<?xml version="1.0"?>
<scenario name="{}" seed="{}">
  <platform file="{}"/>
  <network model="CM02"><config name="network/crosstraffic" value="0"/></network>
  <data train="{}" test="{}" label="target" standardize="true"/>
  <model type="logistic" sim-parameters="120000" sim-forward-flops="{}"/>
  <workers count="{}" placement="hosts" hosts="{}"/>
  {}
  {}
  <batch rule="fixed" size="8"/>
  <training rounds="{}" header-bytes="0" charge-eval="{}"/>
  {}
</scenario>
)", scenario.scenario_name, scenario.seed, scenario.platform_file, (data / "breast_cancer_seed_train.csv").string(),
                               (data / "breast_cancer_seed_test.csv").string(), scenario.forward_flops, workers, scenario.hosts,
                               scenario.layout, scenario.algorithm, scenario.rounds, scenario.charge_eval, scenario.failures));
  const auto out = dir / ("out-" + name);
  return {run_dmlsim(fmt::format("run {} -q --save-weights -o {}", file.string(), out.string())), out};
}

std::vector<double> rounds_column(const std::filesystem::path& out, const std::string& name) {
  std::istringstream in(read_text(out / "rounds.csv"));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::istringstream h(line);
  for (std::string field; std::getline(h, field, ',');) header.push_back(field);
  const auto index = static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  if (index == header.size()) throw std::runtime_error("rounds.csv has no column " + name);
  std::vector<double> values;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::istringstream f(line);
    for (std::string field; std::getline(f, field, ',');) fields.push_back(field);
    values.push_back(std::stod(fields.at(index)));
  }
  return values;
}

}  // namespace dmlsim::testutil
