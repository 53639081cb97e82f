// The DiLoCo family and payload compression end to end: identities to the existing algorithms
// through the sequential driver (to 1e-12, or bit for bit), and runs of the binary for bytes on the
// wire, topologies, utilisation and bad input.
#include "experiment/sequential_driver.hpp"
#include "test_util.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

using namespace dmlsim;
using namespace dmlsim::testutil;
namespace fs = std::filesystem;

namespace {

// Every round's global model of a seed scenario run as `algorithm` with the given --set overrides.
std::vector<Vector> models_of(const std::string& algorithm, std::vector<std::string> sets) {
  std::vector<Override> overrides;
  sets.push_back("algorithm.name=" + algorithm);
  sets.push_back("data.standardize=true");
  sets.push_back("training.rounds=100");
  for (const auto& s : sets) overrides.push_back(parse_override(s));
  const auto e = build_experiment(load_scenario(source_dir() / "scenarios/seed/bmuf.xml", overrides));
  std::vector<Vector> models;
  run_sequential(e, [&](int, const Vector& w) {
    models.push_back(w);
    return true;
  });
  return models;
}

// Every round's broadcast (the point the workers start from) of the same runs: Nesterov block
// momentum broadcasts w + mu·delta, not the model it evaluates.
std::vector<Vector> broadcasts_of(const std::string& algorithm, std::vector<std::string> sets) {
  std::vector<Override> overrides;
  sets.push_back("algorithm.name=" + algorithm);
  sets.push_back("data.standardize=true");
  for (const auto& s : sets) overrides.push_back(parse_override(s));
  const auto e = build_experiment(load_scenario(source_dir() / "scenarios/seed/bmuf.xml", overrides));
  auto server = make_server(e.algorithm, e.initial);
  std::vector<std::unique_ptr<WorkerRole>> workers;
  std::vector<LocalTrainer> trainers;
  std::vector<Upload> uploads(static_cast<std::size_t>(e.algorithm.workers));
  for (int k = 0; k < e.algorithm.workers; ++k) {
    workers.push_back(make_worker(e.algorithm, k, e.initial));
    trainers.push_back(e.make_trainer(k));
  }
  std::vector<Vector> broadcasts;
  for (int round = 1; round <= 100; ++round) {
    broadcasts.push_back(server->broadcast());
    for (std::size_t k = 0; k < workers.size(); ++k) workers[k]->run_round(round, broadcasts.back(), trainers[k], uploads[k]);
    server->aggregate(uploads);
  }
  return broadcasts;
}

// Worst over the rounds of max_i |a_i - b_i| / max_i |a_i|: relative to the model's scale, so a
// parameter crossing zero does not turn rounding into a large relative error.
double worst_relative_gap(const std::vector<Vector>& a, const std::vector<Vector>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (std::size_t r = 0; r < std::min(a.size(), b.size()); ++r)
    worst = std::max(worst, (a[r] - b[r]).cwiseAbs().maxCoeff() / std::max(a[r].cwiseAbs().maxCoeff(), 1e-300));
  return worst;
}

// The last line of rounds.csv split at commas.
std::vector<std::string> last_row(const fs::path& dir) {
  std::istringstream in(read_text(dir / "rounds.csv"));
  std::string line, last;
  while (std::getline(in, line)) last = line;
  std::vector<std::string> cells;
  std::istringstream row(last);
  for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
  return cells;
}

CommandResult run_seed(const std::string& sets, const fs::path& out) {
  return run_dmlsim(fmt::format("run -q scenarios/seed/ma.xml --set training.rounds=20 {} --out {}", sets, out.string()));
}

}  // namespace

TEST(OuterOptimisers, OuterSgdWithUnitRateIsMa) {
  const auto ma = models_of("ma", {});
  EXPECT_LT(worst_relative_gap(ma, models_of("diloco", {"algorithm.outer=sgd", "algorithm.outer-lr=1"})), 1e-12);
}

TEST(OuterOptimisers, SlowMoWithUnitAlphaAndNoMomentumIsMa) {
  const auto ma = models_of("ma", {});
  EXPECT_LT(worst_relative_gap(ma, models_of("slowmo", {"algorithm.alpha=1", "algorithm.beta=0"})), 1e-12);
}

TEST(OuterOptimisers, OuterHeavyBallMomentumIsClassicalBmuf) {
  for (const auto& [mu, zeta] : {std::pair<double, double>{0.9, 0.1}, {0.5, 1.0}}) {
    const auto bmuf = models_of(
        "bmuf", {"algorithm.delta-init=zero", fmt::format("algorithm.mu={}", mu), fmt::format("algorithm.zeta={}", zeta)});
    const auto diloco = models_of("diloco", {"algorithm.outer=momentum", fmt::format("algorithm.outer-lr={}", zeta),
                                             fmt::format("algorithm.outer-momentum={}", mu)});
    EXPECT_LT(worst_relative_gap(bmuf, diloco), 1e-12) << "mu " << mu << " zeta " << zeta;
  }
}

// BMUF through the outer-optimiser path. Chen & Huo's filter delta <- mu·delta + gain·G, G = w_avg - w_start,
// is heavy-ball momentum on Delta = -G with lr = gain (m = -delta / gain): classical block
// momentum is `diloco outer="momentum"` and evaluates the same model. Nesterov block momentum
// starts each block from s = w + mu·delta; then s' = s - gain·(Delta + mu·m') with m' = mu·m + Delta,
// PyTorch's Nesterov step, so `diloco outer="nesterov"` broadcasts the same points (BMUF evaluates
// w = s - mu·delta, DiLoCo the point s itself). The CNTK/fairseq filter is gain = (1 - mu)·zeta.
TEST(OuterOptimisers, BmufCntkFilterIsOuterMomentumWithTheScaledRate) {
  for (const auto& [mu, zeta] : {std::pair<double, double>{0.9, 1.0}, {0.75, 0.5}}) {
    const auto bmuf = models_of("bmuf", {"algorithm.delta-init=zero", "algorithm.filter=cntk",
                                         fmt::format("algorithm.mu={}", mu), fmt::format("algorithm.zeta={}", zeta)});
    const auto diloco = models_of("diloco", {"algorithm.outer=momentum", fmt::format("algorithm.outer-lr={}", (1 - mu) * zeta),
                                             fmt::format("algorithm.outer-momentum={}", mu)});
    EXPECT_LT(worst_relative_gap(bmuf, diloco), 1e-12) << "mu " << mu << " zeta " << zeta;
  }
}

TEST(OuterOptimisers, NesterovBlockMomentumStartsEveryBlockWhereOuterNesterovDoes) {
  for (const std::string filter : {"plain", "cntk"}) {
    for (const auto& [mu, zeta] : {std::pair<double, double>{0.9, 0.1}, {0.5, 1.0}}) {
      const double gain = filter == "cntk" ? (1 - mu) * zeta : zeta;
      const auto bmuf = broadcasts_of(
          "bmuf", {"algorithm.delta-init=zero", "algorithm.momentum=nesterov", "algorithm.filter=" + filter,
                   fmt::format("algorithm.mu={}", mu), fmt::format("algorithm.zeta={}", zeta)});
      const auto diloco = broadcasts_of("diloco", {"algorithm.outer=nesterov", fmt::format("algorithm.outer-lr={}", gain),
                                                   fmt::format("algorithm.outer-momentum={}", mu)});
      EXPECT_LT(worst_relative_gap(bmuf, diloco), 1e-12) << filter << " mu " << mu << " zeta " << zeta;
      // ...and the classical start differs, so the comparison can fail.
      EXPECT_GT(worst_relative_gap(broadcasts_of("bmuf", {"algorithm.delta-init=zero", "algorithm.filter=" + filter,
                                                          fmt::format("algorithm.mu={}", mu),
                                                          fmt::format("algorithm.zeta={}", zeta)}),
                                   diloco),
                1e-6);
    }
  }
}

TEST(OuterOptimisers, EveryOuterAndInnerOptimiserChangesTheTrajectory) {
  const auto plain = models_of("diloco", {"algorithm.outer=sgd", "algorithm.outer-lr=1"});
  for (const std::string set : {"algorithm.outer=nesterov", "algorithm.outer=adam", "algorithm.inner=momentum",
                                "algorithm.inner=adamw"})
    EXPECT_GT(worst_relative_gap(plain, models_of("diloco", {"algorithm.outer=sgd", "algorithm.outer-lr=1", set})), 1e-6)
        << set;
  const auto kept = models_of("diloco", {"algorithm.inner=adamw", "algorithm.eta=0.01"});
  const auto reset = models_of("diloco", {"algorithm.inner=adamw", "algorithm.eta=0.01", "algorithm.inner-state=reset"});
  EXPECT_GT(worst_relative_gap(kept, reset), 1e-6);
}

TEST(Compression, LosslessSettingsChangeNothingBitForBit) {
  const auto plain = models_of("diloco", {});
  for (const auto& sets : std::vector<std::vector<std::string>>{
           {"compression.format=fp64"},
           {"compression.sparsify=top-k", "compression.k=31"},
           {"compression.sparsify=random-k", "compression.k=31"}}) {
    EXPECT_EQ(worst_relative_gap(plain, models_of("diloco", sets)), 0.0) << sets.front();
  }
}

TEST(Compression, LossyPayloadsChangeTheModelButStillTrainIt) {
  const auto plain = models_of("ma", {});
  for (const std::string set : {"compression.format=fp16", "compression.format=int8", "compression.format=fp4"}) {
    const auto lossy = models_of("ma", {set});
    EXPECT_GT(worst_relative_gap(plain, lossy), 0.0) << set;
    EXPECT_LT((lossy.back() - plain.back()).norm(), 0.5 * plain.back().norm()) << set;
  }
}

TEST(Compression, ParameterServerBytesAreValuesIndicesScalesAndHeader) {
  TempDir dir;
  // 31 parameters, 20 rounds, 2K = 8 messages a round of payload + 64 header bytes.
  const std::vector<std::pair<std::string, std::uint64_t>> cases = {
      {"", 31 * 8}, {"--set compression.format=int8", 31 + 4}, {"--set compression.format=fp4", 16 + 4},
      {"--set compression.format=bf16", 62}, {"--set compression.sparsify=top-k --set compression.k=5", 5 * 12},
      {"--set compression.sparsify=random-k --set compression.k=5 --set compression.format=int8", 5 * 5 + 4}};
  for (const auto& [sets, payload] : cases) {
    const auto out = dir / "ps";
    ASSERT_EQ(run_seed(sets, out).exit_code, 0) << sets;
    EXPECT_EQ(last_row(out)[5], std::to_string(20 * 8 * (payload + 64))) << sets;
    const auto summary = nlohmann::json::parse(read_text(out / "summary.json"));
    EXPECT_EQ(summary["training"]["message_bytes"].get<std::uint64_t>(), payload + 64) << sets;
    fs::remove_all(out);
  }
}

TEST(Compression, RingAllReduceChunksCarryTheirShareOfTheBytes) {
  TempDir dir;
  // K = 4: chunks of 8, 8, 8, 7 parameters; each of the 2(K-1) = 6 steps sends every chunk once.
  ASSERT_EQ(run_seed("--set topology.kind=ring-allreduce --set compression.format=int8", dir / "ring").exit_code, 0);
  const std::uint64_t per_step = (8 + 4) * 3 + (7 + 4) + 4 * 64;
  EXPECT_EQ(last_row(dir / "ring")[5], std::to_string(20 * 6 * per_step));
}

TEST(Compression, SameWeightsOnEveryTopology) {
  TempDir dir;
  const std::string sets = "--set algorithm.name=diloco --set compression.format=fp4 --save-weights";
  ASSERT_EQ(run_seed(sets, dir / "ps").exit_code, 0);
  ASSERT_EQ(run_seed(sets + " --set topology.kind=ring-allreduce", dir / "ring").exit_code, 0);
  ASSERT_EQ(run_seed(sets + " --set topology.kind=tree", dir / "tree").exit_code, 0);
  EXPECT_EQ(read_text(dir / "ps/weights.csv"), read_text(dir / "ring/weights.csv"));
  EXPECT_EQ(read_text(dir / "ps/weights.csv"), read_text(dir / "tree/weights.csv"));
}

TEST(Utilisation, ComputeTimeOverSimulatedTimePerWorkerAndOverall) {
  TempDir dir;
  ASSERT_EQ(run_seed("--set algorithm.name=diloco", dir / "run").exit_code, 0);
  const auto j = nlohmann::json::parse(read_text(dir / "run/summary.json"));
  const double sim_time = j["result"]["sim_time"];
  double sum = 0;
  for (const auto& w : j["time_breakdown"]["workers"]) {
    const double u = w["utilisation"];
    EXPECT_DOUBLE_EQ(u, w["compute_time"].get<double>() / sim_time);
    EXPECT_GT(u, 0.0);
    EXPECT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(j["time_breakdown"]["utilisation"].get<double>(), sum / 4, 1e-12);
  EXPECT_EQ(j["algorithm"]["outer"], "nesterov");
}

TEST(BadInput, OptimisersFormatsKAndBetasGiveExitTwoAndWriteNothing) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--set algorithm.name=diloco --set algorithm.outer=lamb", "'lamb' is not one of"},
      {"--set algorithm.name=diloco --set algorithm.inner=adagrad", "'adagrad' is not one of"},
      {"--set algorithm.name=diloco --set algorithm.beta2=1", "out of range [0, 1)"},
      {"--set algorithm.name=diloco --set algorithm.outer-beta1=-0.1", "out of range [0, 1)"},
      {"--set algorithm.name=slowmo --set algorithm.beta=1", "out of range [0, 1)"},
      {"--set compression.format=fp8", "'fp8' is not one of"},
      {"--set compression.sparsify=top-k --set compression.k=0", "out of range"},
      {"--set compression.sparsify=top-k --set compression.k=32", "more than the model's 31 parameters"},
      {"--set compression.sparsify=top-k", "is required with sparsify"}};
  for (const auto& [sets, message] : cases) {
    const auto result = run_seed(sets, dir / "out");
    EXPECT_EQ(result.exit_code, 2) << sets;
    EXPECT_NE(result.out.find(message), std::string::npos) << sets << "\n" << result.out;
    EXPECT_NE(result.out.find("scenarios/seed/ma.xml:"), std::string::npos) << result.out;
    EXPECT_FALSE(fs::exists(dir / "out")) << sets;
  }
}

TEST(Study, CompressionAxisAndUtilisationColumnInTheTable) {
  TempDir dir;
  write_text(dir / "s.xml", fmt::format(R"(<study name="s" scenario="{}">
  <axis name="format" set="compression.format" values="fp64 int8"/>
  <fixed set="training.rounds" value="10"/>
  <fixed set="algorithm.name" value="diloco"/>
  <seeds values="1 2"/>
</study>
)", (source_dir() / "scenarios/seed/ma.xml").string()));
  const auto results = dir / "r";
  ASSERT_EQ(run_dmlsim(fmt::format("sweep {} -j 2 --out {}", (dir / "s.xml").string(), results.string())).exit_code, 0);
  const auto table = run_dmlsim(fmt::format("table {} -t 0.5 --utilisation --format csv", results.string()));
  ASSERT_EQ(table.exit_code, 0) << table.out;
  EXPECT_NE(table.out.find("utilisation_mean,utilisation_std"), std::string::npos) << table.out;
  // The table's mean is the mean over the seeds of each summary's overall utilisation.
  for (const std::string format : {"fp64", "int8"}) {
    double sum = 0;
    for (const char* seed : {"1", "2"}) {
      const auto j = nlohmann::json::parse(read_text(results / fmt::format("runs/format-{}_seed-{}/summary.json", format, seed)));
      sum += j["time_breakdown"]["utilisation"].get<double>();
    }
    std::istringstream rows(table.out);
    std::string line;
    while (std::getline(rows, line) && line.rfind(format + ",", 0) != 0) {}
    ASSERT_FALSE(line.empty()) << table.out;
    EXPECT_NE(line.find(fmt::format(",{},", sum / 2)), std::string::npos) << line;
  }
  const auto markdown = run_dmlsim(fmt::format("table {} -t 0.5 --utilisation", results.string()));
  EXPECT_NE(markdown.out.find("| utilisation (%) |"), std::string::npos) << markdown.out;
}

TEST(Readme, WanDilocoExampleIsWhatTheShippedScenarioProduces) {
  TempDir dir;
  // (extra --set, time to 0.95 as printed, round, bytes) of the README's table.
  expect_target_lines(dir.path(), "scenarios/wan/diloco.xml",
                      {{"", "1.01575", 7, 17472},
                       {"--set compression.format=int8", "1.01572", 7, 5544},
                       {"--set compression.format=fp4", "1.01572", 7, 4704},
                       {"--set compression.sparsify=top-k --set compression.k=3", "2.75696", 19, 15200}});
}

TEST(Readme, LargeProfileUtilisationAsTheStudyTableShowsIt) {
  TempDir dir;
  // (--set / --link, overall utilisation in % to one decimal) of rows of the README's study table.
  expect_utilisation(
      dir.path(), "scenarios/large/diloco-1b.xml",
      {{"--link 'wan-*:bandwidth=10Gbps'", "95.8"},
       {"--link 'wan-*:bandwidth=1Gbps' --set compression.format=fp4", "90.3"},
       {"--link 'wan-*:bandwidth=1000Gbps' --set algorithm.local-steps=1 --set algorithm.outer=sgd --set algorithm.outer-lr=1",
        "82.7"}});
}

// Runs a shipped utilisation study and checks that the README holds the bandwidth-for-utilisation
// table its results give.
void expect_readme_has_bandwidth_table_of(const std::string& study) {
  TempDir dir;
  const auto results = dir / "r";
  const auto sweep = run_dmlsim(fmt::format("sweep scenarios/studies/{}.xml -j 2 --out {}", study, results.string()));
  ASSERT_EQ(sweep.exit_code, 0) << sweep.out;
  const auto command = fmt::format(
      "'{}' table '{}' -t 0.5 --by model,method,wan-bandwidth --utilisation --format csv | /usr/bin/python3 "
      "'{}' > '{}'",
      DMLSIM_BINARY, results.string(), (source_dir() / "analysis/bandwidth_for_utilisation.py").string(),
      (dir / "needed.md").string());
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const auto needed = read_text(dir / "needed.md");
  EXPECT_NE(needed.find("| 100B | streaming-fp4 |"), std::string::npos) << needed;
  EXPECT_NE(read_text(source_dir() / "README.md").find(needed), std::string::npos)
      << "README's bandwidth-for-utilisation table differs from " << study << "'s:\n" << needed;
}

TEST(Readme, BandwidthForUtilisationTableIsWhatTheShippedStudyProduces) {
  expect_readme_has_bandwidth_table_of("utilisation-vs-bandwidth");
}

TEST(Readme, BandwidthForUtilisationUnderLinuxTcpIsWhatTheShippedStudyProduces) {
  expect_readme_has_bandwidth_table_of("utilisation-vs-bandwidth-tcp");
}

TEST(Compression, RerunsAreByteIdenticalAndTheBareBaselineSendsTheSameBytes) {
  TempDir dir;
  const std::string sets = "--set algorithm.name=diloco --set compression.sparsify=random-k --set compression.k=7 "
                           "--set compression.format=fp4";
  ASSERT_EQ(run_seed(sets, dir / "a").exit_code, 0);
  ASSERT_EQ(run_seed(sets, dir / "b").exit_code, 0);
  ASSERT_EQ(run_seed(sets + " --bare", dir / "bare").exit_code, 0);
  EXPECT_EQ(read_text(dir / "a/rounds.csv"), read_text(dir / "b/rounds.csv"));
  EXPECT_EQ(last_row(dir / "a")[5], last_row(dir / "bare")[5]);
  EXPECT_EQ(last_row(dir / "a")[5], std::to_string(20 * 8 * ((7 + 1) / 2 + 7 * 4 + 4 + 64)));
}

TEST(Compression, KWithoutSparsifyIsIgnoredWithANoteSoStudiesCanSweepTheSparsifier) {
  TempDir dir;
  const auto noted = run_seed("--set compression.format=int8 --set compression.k=5", dir / "k");
  ASSERT_EQ(noted.exit_code, 0) << noted.out;
  EXPECT_NE(noted.out.find("note: <compression> attribute 'k' is ignored without sparsify"), std::string::npos) << noted.out;
  ASSERT_EQ(run_seed("--set compression.format=int8", dir / "plain").exit_code, 0);
  EXPECT_EQ(read_text(dir / "k/rounds.csv"), read_text(dir / "plain/rounds.csv"));
}
