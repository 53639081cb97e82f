// The asynchronous parameter server (ASGD, SSP): the protocol's bookkeeping, the identities to
// sequential SGD and to SSGD (sequential driver and simulator), staleness in summary.json,
// evaluation by simulated time, byte-identical reruns, bad input.
#include "algorithms/asgd.hpp"
#include "algorithms/asynchronous.hpp"
#include "algorithms/registry.hpp"
#include "experiment/sequential_driver.hpp"
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

using namespace dmlsim;
using namespace dmlsim::testutil;

namespace {

std::filesystem::path write_scenario(const TempDir& dir, int workers, const std::string& algorithm, int rounds,
                                     const std::string& report = "") {
  return testutil::write_host_scenario(
      dir.path(), {"star", 2, workers, testutil::star_platform(workers, {"3Mf", "5ms", "1Mf", "20ms"}),
                   fmt::format("{}\n  <training rounds=\"{}\"/>\n  {}", algorithm, rounds, report)});
}

testutil::CommandResult run(const std::filesystem::path& scenario, const std::filesystem::path& out,
                            const std::string& extra = "") {
  return testutil::run_dmlsim(fmt::format("run {} -q --save-weights {} --out {}", scenario.string(), extra, out.string()));
}

std::vector<double> row_times(const std::filesystem::path& rounds_csv) {
  std::istringstream in(testutil::read_text(rounds_csv));
  std::string line;
  std::getline(in, line);
  std::vector<double> times;
  while (std::getline(in, line)) times.push_back(std::stod(line.substr(line.find(',') + 1)));
  return times;
}

}  // namespace

TEST(AsyncProtocol, UnboundedRepliesToThePusherAndCountsStaleness) {
  AsgdServer server(0.5, Vector::Zero(2));
  AsyncProtocol protocol(server, 3, kUnboundedStaleness);
  Upload u;
  u.values = Vector::Ones(2);
  u.worker = 2;
  EXPECT_EQ(protocol.push(u, 0), std::vector<int>{2});
  u.worker = 0;
  EXPECT_EQ(protocol.push(u, 0), std::vector<int>{0});
  u.worker = 1;
  EXPECT_EQ(protocol.push(u, 0), std::vector<int>{1});
  EXPECT_EQ(protocol.version(), 3u);
  EXPECT_EQ(protocol.staleness_histogram(), (std::vector<std::uint64_t>{1, 1, 1}));
  EXPECT_EQ(server.model(), Vector::Constant(2, -1.5));
}

TEST(AsyncProtocol, BoundZeroReleasesEveryoneWhenTheSlowestPushes) {
  AsgdServer server(1.0, Vector::Zero(1));
  AsyncProtocol protocol(server, 3, 0);
  Upload u;
  u.values = Vector::Ones(1);
  for (int k : {1, 0}) {
    u.worker = k;
    EXPECT_TRUE(protocol.push(u, 0).empty());
  }
  u.worker = 2;
  EXPECT_EQ(protocol.push(u, 0), (std::vector<int>{0, 1, 2}));
}

TEST(AsyncProtocol, BoundOneLetsAWorkerLeadByOnePush) {
  AsgdServer server(1.0, Vector::Zero(1));
  AsyncProtocol protocol(server, 2, 1);
  Upload u;
  u.values = Vector::Ones(1);
  u.worker = 0;
  EXPECT_EQ(protocol.push(u, 0), std::vector<int>{0});  // clock 1 vs 0
  EXPECT_TRUE(protocol.push(u, 1).empty());             // clock 2 vs 0: waits
  u.worker = 1;
  EXPECT_EQ(protocol.push(u, 0), (std::vector<int>{0, 1}));
}

TEST(AsyncIdentity, AsgdWithOneWorkerIsSequentialSgd) {
  const auto e = standardized_seed_experiment({"workers.count=1", "algorithm.name=asgd"});
  const auto asgd = trajectory(e);
  ASSERT_EQ(asgd.size(), 300u);
  EXPECT_LT(max_relative_difference(asgd, testutil::sequential_sgd(e, 0.1)), 1e-12);
}

TEST(AsyncIdentity, SspWithBoundZeroAndMeanPushesIsSsgdWithBatchMeans) {
  const auto ssgd = trajectory(standardized_seed_experiment({}));
  const auto ssp = trajectory(
      standardized_seed_experiment({"algorithm.name=ssp", "algorithm.s=0", "algorithm.push-scale=mean", "training.rounds=1200"}), 4);
  ASSERT_EQ(ssgd.size(), 300u);
  EXPECT_LT(max_relative_difference(ssgd, ssp), 1e-12);
}

TEST(AsyncIdentity, AsyncEasgdWithoutElasticityLeavesTheCentreUnchanged) {
  const auto e = standardized_seed_experiment({"algorithm.name=easgd-async", "algorithm.rho=0", "algorithm.tau=3"});
  for (const auto& w : trajectory(e)) ASSERT_EQ(w, e.initial);
  const auto moving = standardized_seed_experiment({"algorithm.name=easgd-async", "algorithm.tau=3"});
  EXPECT_NE(trajectory(moving).back(), moving.initial);
}

// One worker's asynchronous EASGD written out: tau local steps (Nesterov's with momentum delta),
// then the elastic exchange with the centre; the centre after every push.
std::vector<Vector> elastic_by_hand(const Experiment& e, double delta) {
  const double eta = 0.1, alpha = 0.1 * 0.1;
  auto trainer = e.make_trainer(0);
  Vector x = e.initial, w = e.initial, v = Vector::Zero(x.size()), g;
  std::vector<Vector> centres;
  for (int push = 1; push <= e.rounds; ++push) {
    for (int step = 0; step < 2; ++step) {
      trainer.gradient(Vector(x + delta * v), push, step, g);
      v = delta * v - eta * g;
      x += v;
    }
    const Vector d = alpha * (x - w);
    x -= d;
    w += d;
    centres.push_back(w);
  }
  return centres;
}

TEST(AsyncIdentity, EamsgdIsAsyncEasgdWithNesterovLocalStepsAndDeltaZeroIsPlain) {
  for (const double delta : {0.0, 0.9}) {
    const auto e = standardized_seed_experiment({"workers.count=1", "algorithm.name=easgd-async", "algorithm.tau=2",
                                    fmt::format("algorithm.delta={}", delta), "training.rounds=100"});
    EXPECT_LT(max_relative_difference(trajectory(e), elastic_by_hand(e, delta)), 1e-12) << delta;
  }
  const auto plain = standardized_seed_experiment({"algorithm.name=easgd-async", "algorithm.tau=2"});
  const auto eamsgd = standardized_seed_experiment({"algorithm.name=easgd-async", "algorithm.tau=2", "algorithm.delta=0.9"});
  EXPECT_GT(max_relative_difference(trajectory(plain), trajectory(eamsgd)), 1e-6);
}

TEST(AsyncSimulation, IdentitiesHoldThroughTheSimulator) {
  TempDir dir;
  // ASGD, one worker: the simulator's weights are sequential SGD's, bit for bit.
  const auto one = write_scenario(dir, 1, R"(<algorithm name="asgd" eta="0.1"/>)", 50);
  ASSERT_EQ(run(one, dir / "asgd1").exit_code, 0);
  EXPECT_EQ(read_weights(dir / "asgd1/weights.csv"), run_sequential(build_experiment(load_scenario(one))));

  // SSP s = 0 with a straggler: pushes arrive in any order, the model is still SSGD's (to rounding).
  const auto ssp = write_scenario(dir, 4, R"(<algorithm name="ssp" eta="0.1" s="0" push-scale="mean"/>)", 80);
  ASSERT_EQ(run(ssp, dir / "ssp").exit_code, 0);
  const auto ssgd_scenario = load_scenario(ssp, {parse_override("algorithm.name=ssgd"), parse_override("training.rounds=20")});
  const std::vector<Vector> expected{run_sequential(build_experiment(ssgd_scenario))};
  EXPECT_LT(max_relative_difference({read_weights(dir / "ssp/weights.csv")}, expected), 1e-12);
  const auto summary = nlohmann::json::parse(testutil::read_text(dir / "ssp/summary.json"));
  EXPECT_EQ(summary["staleness"]["updates"], 80);
  EXPECT_LE(summary["staleness"]["max"].get<int>(), 3);  // s = 0: at most the other K - 1 pushes of a clock

  // Asynchronous EASGD with rho = 0: the centre never moves.
  const auto easgd = write_scenario(dir, 3, R"(<algorithm name="easgd-async" eta="0.1" rho="0" tau="2"/>)", 30);
  ASSERT_EQ(run(easgd, dir / "easgd").exit_code, 0);
  EXPECT_EQ(read_weights(dir / "easgd/weights.csv"), build_experiment(load_scenario(easgd)).initial);
}

TEST(AsyncSimulation, StalenessIsRecordedAndRerunsAreByteIdentical) {
  TempDir dir;
  const auto scenario = write_scenario(dir, 4, R"(<algorithm name="asgd" eta="0.05"/>)", 200);
  ASSERT_EQ(run(scenario, dir / "a").exit_code, 0);
  ASSERT_EQ(run(scenario, dir / "b").exit_code, 0);
  EXPECT_EQ(testutil::read_text(dir / "a/rounds.csv"), testutil::read_text(dir / "b/rounds.csv"));
  EXPECT_EQ(testutil::read_text(dir / "a/weights.csv"), testutil::read_text(dir / "b/weights.csv"));
  auto a = nlohmann::json::parse(testutil::read_text(dir / "a/summary.json"));
  auto b = nlohmann::json::parse(testutil::read_text(dir / "b/summary.json"));
  a["result"].erase("wall_time");
  b["result"].erase("wall_time");
  EXPECT_EQ(a, b);
  const auto& staleness = a["staleness"];
  EXPECT_EQ(staleness["updates"], 200);
  std::uint64_t total = 0;
  for (const auto& n : staleness["histogram"]) total += n.get<std::uint64_t>();
  EXPECT_EQ(total, 200u);
  EXPECT_GE(staleness["max"].get<int>(), 1);
  EXPECT_GT(staleness["mean"].get<double>(), 0.0);
  EXPECT_EQ(a["result"]["rounds"], 200);
  // The slow worker pushes less often than the fast ones: its samples are fewer.
  const auto& workers = a["time_breakdown"]["workers"];
  EXPECT_LT(workers[3]["samples"].get<double>(), workers[0]["samples"].get<double>());
}

TEST(AsyncSimulation, EvaluatesEveryIntervalOfSimulatedTime) {
  TempDir dir;
  const auto scenario =
      write_scenario(dir, 3, R"(<algorithm name="asgd" eta="0.05"/>)", 300, R"(<report eval-every-time="50ms"/>)");
  ASSERT_EQ(run(scenario, dir / "t").exit_code, 0);
  const auto times = row_times(dir / "t/rounds.csv");
  ASSERT_GE(times.size(), 4u);
  for (std::size_t i = 1; i + 1 < times.size(); ++i)
    EXPECT_GT(std::floor(times[i] / 0.05), std::floor(times[i - 1] / 0.05)) << "row " << i;
  EXPECT_LE(times.size(), static_cast<std::size_t>(std::floor(times.back() / 0.05)) + 2);
}

TEST(AsyncBadInput, RejectedBeforeAnythingIsWritten) {
  TempDir dir;
  const auto check = [&](const std::string& algorithm, const std::string& extra, const std::string& message) {
    const auto scenario = write_scenario(dir, 2, algorithm, 10);
    const auto result = run(scenario, dir / "never", extra);
    EXPECT_EQ(result.exit_code, 2) << result.out;
    EXPECT_NE(result.out.find("s.xml:"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find(message), std::string::npos) << result.out;
    EXPECT_FALSE(std::filesystem::exists(dir / "never"));
  };
  check(R"(<algorithm name="ssp" eta="0.1" s="-1"/>)", "", "'s'");
  check(R"(<algorithm name="asgd" eta="0.1"/>)", "--set topology.kind=tree", "asgd runs only on topology parameter-server");
  check(R"(<algorithm name="ssp" eta="0.1"/>)", "--set report.eval-every-time=0s", "eval-every-time");
}

TEST(ShippedScenarios, IssueTenScenariosRun) {
  TempDir dir;
  for (const std::string name : {"asgd", "ssp", "fedavg", "ssgd-backup", "dpsgd", "adpsgd"}) {
    const auto result = testutil::run_dmlsim(fmt::format("run scenarios/wan/{}.xml -q --set training.rounds=8 --out {}",
                                                         name, (dir / name).string()));
    EXPECT_EQ(result.exit_code, 0) << name << ": " << result.out;
    EXPECT_TRUE(std::filesystem::exists(dir / name / "summary.json")) << name;
  }
}
