// Failures mid-run (world/failures.hpp, sim/topology/resilient_parameter_server.cpp), through the
// binary on a star platform the test writes: the survivors' model equals model averaging computed
// independently over the workers rounds.csv says took part, the timeout path has its analytic
// time, a worker comes back, a link goes down and up, the server's death and the loss of every
// worker end the run with exit 3 and nothing written, random failures rerun identically, and bad
// <failures> input gets exit 2 with file:line.
#include "test_util.hpp"

#include "algorithms/asynchronous.hpp"
#include "experiment/experiment.hpp"
#include "scenario/scenario.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace dmlsim;
namespace fs = std::filesystem;
using dmlsim::testutil::read_text;
using dmlsim::testutil::rounds_column;
using dmlsim::testutil::run_dmlsim;
using dmlsim::testutil::TempDir;
using dmlsim::testutil::write_text;

namespace {

constexpr int kWorkers = 4;
constexpr double kEta = 0.05;
constexpr int kLocalSteps = 3;

// MA on the seed's breast-cancer data, 4 workers on a star (rounds of about 10 ms), CM02.
std::string scenario_text(const TempDir& dir, int rounds, const std::string& failures, const std::string& extra = "",
                          const std::string& algorithm = fmt::format(R"(name="ma" eta="{}" local-steps="{}")", kEta, kLocalSteps)) {
  const auto data = testutil::source_dir() / "data";
  return fmt::format(R"(<?xml version="1.0"?>
<scenario name="failures" seed="3">
  <platform file="{}"/>
  <network model="CM02"/>
  <data train="{}" test="{}" label="target" standardize="true"/>
  <workers count="{}" placement="hosts" hosts="w0,w1,w2,w3"/>
  <server host="server"/>
  <algorithm {}/>
  <batch rule="fixed" size="8"/>
  <training rounds="{}"/>
  {}
  {}
</scenario>
)",
                     (dir / "star.xml").string(), (data / "breast_cancer_seed_train.csv").string(),
                     (data / "breast_cancer_seed_test.csv").string(), kWorkers, algorithm, rounds, extra,
                     failures);
}

struct RunResult {
  testutil::CommandResult result;
  std::filesystem::path out;
};

class WorldFailures : public ::testing::Test {
 protected:
  void SetUp() override { write_text(dir_ / "star.xml", testutil::star_platform(kWorkers, {})); }

  RunResult run(const std::string& name, int rounds, const std::string& failures, const std::string& extra = "",
                const std::string& algorithm = fmt::format(R"(name="ma" eta="{}" local-steps="{}")", kEta, kLocalSteps)) {
    const auto scenario = dir_ / (name + ".xml");
    write_text(scenario, scenario_text(dir_, rounds, failures, extra, algorithm));
    const auto out = dir_ / ("out-" + name);
    return {run_dmlsim(fmt::format("run {} -q --save-weights -o {}", scenario.string(), out.string())), out};
  }

  static std::vector<double> column(const fs::path& out, const std::string& name) { return rounds_column(out, name); }

  // Model averaging computed without the simulator: each round, every worker that took part runs
  // M SGD steps from the global model on its own batches, and the global model is their mean. The
  // round's participants are all workers but `absent` when rounds.csv says fewer took part.
  Vector expected_weights(int rounds, const std::vector<double>& participants, int absent) {
    const auto scenario = load_scenario(dir_ / "ma-check.xml");
    const auto experiment = build_experiment(scenario);
    std::vector<LocalTrainer> trainers;
    for (int k = 0; k < kWorkers; ++k) trainers.push_back(experiment.make_trainer(k));
    Vector w = experiment.initial;
    for (int round = 1; round <= rounds; ++round) {
      Vector sum = Vector::Zero(w.size());
      int taking_part = 0;
      for (int k = 0; k < kWorkers; ++k) {
        if (participants.at(static_cast<std::size_t>(round)) < kWorkers && k == absent) continue;
        Vector local = w;
        for (int step = 0; step < kLocalSteps; ++step) trainers[static_cast<std::size_t>(k)].sgd_step(local, kEta, round, step);
        sum += local;
        ++taking_part;
      }
      w = sum / static_cast<double>(taking_part);
    }
    return w;
  }

  void expect_survivors_model(const RunResult& r, int rounds, int absent) {
    write_text(dir_ / "ma-check.xml", scenario_text(dir_, rounds, ""));
    const auto participants = column(r.out, "participants");
    for (double p : participants) EXPECT_TRUE(p == kWorkers || p == kWorkers - 1);
    const Vector expected = expected_weights(rounds, participants, absent);
    const Vector simulated = testutil::read_weights(r.out / "weights.csv");
    ASSERT_EQ(simulated.size(), expected.size());
    EXPECT_LE((simulated - expected).cwiseAbs().maxCoeff(), 1e-12 * std::max(1.0, expected.cwiseAbs().maxCoeff()));
  }

  static nlohmann::json failures(const RunResult& r) {
    return nlohmann::json::parse(read_text(r.out / "summary.json"))["failures"];
  }

  TempDir dir_;
};

TEST_F(WorldFailures, AWorkerKilledAtARoundLeavesTheSurvivorsAveraging) {
  const auto r = run("killed", 8, R"(<failures timeout="200ms"><host name="w3" round="4"/></failures>)");
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto participants = column(r.out, "participants");
  EXPECT_EQ(participants, (std::vector<double>{4, 4, 4, 4, 3, 3, 3, 3, 3}));
  expect_survivors_model(r, 8, 3);
  const auto f = failures(r);
  ASSERT_EQ(f["events"].size(), 1u);
  EXPECT_EQ(f["events"][0]["target"], "w3");
  EXPECT_EQ(f["events"][0]["round"], 4);
  EXPECT_EQ(f["events"][0]["rounds_cost"], 5);
  EXPECT_TRUE(f["events"][0]["up_at"].is_null());
  EXPECT_EQ(f["workers_out_at_end"], nlohmann::json::array({3}));
  EXPECT_GT(f["rows_out_at_end"].get<int>(), 0);
}

// A round the run never reaches (max-time ends it first) is reported, not dropped in silence.
TEST_F(WorldFailures, AFailureAtARoundTheRunNeverReachesIsReportedNotReached) {
  const auto r = run("unreached", 20, R"(<failures timeout="200ms"><host name="w3" round="4"/><host name="w2" round="15"/></failures>)",
                     R"(<stop max-time="80ms"/>)");
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto rounds_run = column(r.out, "participants").size() - 1;
  ASSERT_GE(rounds_run, 4u);
  ASSERT_LT(rounds_run, 15u);
  const auto f = failures(r);
  ASSERT_EQ(f["events"].size(), 2u);
  EXPECT_EQ(f["events"][0]["target"], "w3");
  EXPECT_FALSE(f["events"][0].contains("not_reached"));
  EXPECT_EQ(f["events"][1]["target"], "w2");
  EXPECT_EQ(f["events"][1]["round"], 15);
  EXPECT_EQ(f["events"][1]["not_reached"], true);
  EXPECT_TRUE(f["events"][1]["down_at"].is_null());
  EXPECT_EQ(f["events"][1]["rounds_cost"], 0);
  EXPECT_EQ(f["workers_out_at_end"], nlohmann::json::array({3}));
}

// So is a host, or a link, timed after the run's end (the run's length is known only once it has
// run): the run's outputs are written, and the event says when it was planned.
TEST_F(WorldFailures, AFailureTimedAfterTheRunsEndIsReportedNotReached) {
  const auto r = run("late", 6, R"(<failures timeout="200ms"><host name="w3" round="2"/><host name="w2" at="100h"/></failures>)");
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto f = failures(r);
  ASSERT_EQ(f["events"].size(), 2u);
  EXPECT_FALSE(f["events"][0].contains("not_reached"));
  EXPECT_EQ(f["events"][1]["target"], "w2");
  EXPECT_EQ(f["events"][1]["not_reached"], true);
  EXPECT_EQ(f["events"][1]["at"], 360000.0);
  EXPECT_TRUE(f["events"][1]["round"].is_null());
  EXPECT_TRUE(f["events"][1]["down_at"].is_null());
  EXPECT_EQ(f["workers_out_at_end"], nlohmann::json::array({3}));
  EXPECT_EQ(column(r.out, "participants").size(), 7u);
}

// The worker dies at the start of round 3, or at 25 ms while round 3's broadcast (sent at about
// 20 ms, 5 ms of latency) is on its way to it: either way no upload comes, and the server waits for
// exactly the timeout after its broadcast.
TEST_F(WorldFailures, TheRoundOfADeathLastsTheTimeout) {
  for (const std::string when : {R"(round="3")", R"(at="25ms")"}) {
    const auto r = run("timeout", 4, R"(<failures timeout="250ms"><host name="w1" )" + when + "/></failures>");
    ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
    const auto time = column(r.out, "sim_time");
    ASSERT_LT(time[2], 0.025) << when;  // the death at 25 ms falls in round 3
    EXPECT_NEAR(time[3] - time[2], 0.25, 1e-12) << when;
    EXPECT_LT(time[4] - time[3], 0.1) << when;  // the survivors are not waited for again
    EXPECT_EQ(column(r.out, "participants")[3], 3) << when;
  }
}

TEST_F(WorldFailures, AWorkerThatComesBackRejoins) {
  const auto r = run("rejoin", 30, R"(<failures timeout="200ms"><host name="w3" round="4" for="100ms"/></failures>)");
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto participants = column(r.out, "participants");
  EXPECT_EQ(participants[4], 3);
  EXPECT_EQ(participants.back(), 4);
  expect_survivors_model(r, 30, 3);
  const auto f = failures(r);
  EXPECT_FALSE(f["events"][0]["up_at"].is_null());
  EXPECT_GE(f["events"][0]["rounds_cost"].get<int>(), 1);
  EXPECT_TRUE(f["workers_out_at_end"].empty());
}

TEST_F(WorldFailures, ALinkDownAndUpCutsItsWorkerOffForAWhile) {
  const auto r = run("link", 60, R"(<failures timeout="100ms"><link name="l2" at="45ms" for="300ms"/></failures>)");
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto participants = column(r.out, "participants");
  EXPECT_EQ(participants.back(), 4);
  EXPECT_NE(std::find(participants.begin(), participants.end(), 3), participants.end());
  expect_survivors_model(r, 60, 2);
  const auto event = failures(r)["events"][0];
  EXPECT_EQ(event["source"], "link");
  EXPECT_EQ(event["workers"], nlohmann::json::array({2}));
  EXPECT_NEAR(event["up_at"].get<double>(), 0.345, 1e-12);
  EXPECT_GE(event["rounds_cost"].get<int>(), 1);
}

TEST_F(WorldFailures, TheServersDeathStopsTheRunWithNothingWritten) {
  const auto r = run("server", 8, R"(<failures timeout="200ms"><host name="server" round="3"/></failures>)");
  EXPECT_EQ(r.result.exit_code, 3) << r.result.out;
  EXPECT_NE(r.result.out.find("the server's host server went down"), std::string::npos) << r.result.out;
  EXPECT_FALSE(std::filesystem::exists(r.out));
}

TEST_F(WorldFailures, LosingEveryWorkerForGoodStopsTheRun) {
  const auto r = run("all", 8, R"(<failures timeout="200ms"><random mtbf="50ms"/></failures>)");
  EXPECT_EQ(r.result.exit_code, 3) << r.result.out;
  EXPECT_NE(r.result.out.find("every worker is down"), std::string::npos) << r.result.out;
  EXPECT_FALSE(std::filesystem::exists(r.out));
}

TEST_F(WorldFailures, RandomFailuresRerunIdenticallyAndDependOnTheSeed) {
  const std::string random = R"(<failures timeout="100ms"><random mtbf="200ms" mttr="50ms"/></failures>)";
  const auto a = run("mtbf-a", 40, random);
  const auto b = run("mtbf-b", 40, random);
  ASSERT_EQ(a.result.exit_code, 0) << a.result.out;
  ASSERT_EQ(b.result.exit_code, 0) << b.result.out;
  EXPECT_EQ(read_text(a.out / "rounds.csv"), read_text(b.out / "rounds.csv"));
  EXPECT_EQ(failures(a).dump(), failures(b).dump());
  EXPECT_GE(failures(a)["events"].size(), 2u);
  write_text(dir_ / "mtbf-c.xml", [&] {
    auto text = scenario_text(dir_, 40, random);
    return text.replace(text.find("seed=\"3\""), 8, "seed=\"4\"");
  }());
  const auto c = run_dmlsim(fmt::format("run {} -q -o {}", (dir_ / "mtbf-c.xml").string(), (dir_ / "out-c").string()));
  ASSERT_EQ(c.exit_code, 0) << c.out;
  EXPECT_NE(failures(a).dump(), failures({c, dir_ / "out-c"}).dump());
}

// Asynchronous algorithms go on: the others never wait for a dead worker, and under SSP's staleness
// bound the dead worker stops holding them back once its push is overdue.
TEST_F(WorldFailures, AsynchronousRunsGoOnWithoutTheDeadWorker) {
  for (const std::string algorithm : {R"(name="asgd" eta="0.01")", R"(name="ssp" eta="0.01" s="1")"}) {
    const auto r = run("async", 120, R"(<failures timeout="100ms"><host name="w3" round="10"/></failures>)", "", algorithm);
    ASSERT_EQ(r.result.exit_code, 0) << algorithm << "\n" << r.result.out;
    const auto participants = column(r.out, "participants");
    ASSERT_EQ(participants.size(), 121u) << algorithm;
    EXPECT_EQ(participants[5], 4) << algorithm;
    EXPECT_EQ(participants.back(), 3) << algorithm;
    const auto f = failures(r);
    EXPECT_EQ(f["events"][0]["round"], 10);
    EXPECT_EQ(f["workers_out_at_end"], nlohmann::json::array({3}));
    // The push it owed is lost; every update after it went on without it (its host never comes back).
    EXPECT_EQ(f["events"][0]["missed_uploads"], 1) << algorithm;
    EXPECT_GT(f["events"][0]["rows_missed"].get<int>(), 0) << algorithm;
    const auto out_from = std::find(participants.begin(), participants.end(), 3) - participants.begin();
    EXPECT_EQ(f["events"][0]["rounds_cost"].get<long>(), static_cast<long>(participants.size()) - out_from) << algorithm;
  }
}

// A role that only counts what it is handed.
class CountingRole final : public ServerRole {
 public:
  const Vector& broadcast() override { return w_; }
  void aggregate(const std::vector<Upload>&) override { ++applied; }
  const Vector& model() const override { return w_; }
  int applied = 0;

 private:
  Vector w_ = Vector::Zero(1);
};

Upload from(int worker) {
  Upload u;
  u.worker = worker;
  return u;
}

TEST(AsyncProtocolUnderFailures, ALostWorkerNoLongerHoldsTheOthersBackAndRejoinsLevelWithTheSlowest) {
  CountingRole role;
  AsyncProtocol protocol(role, 3, 1);
  EXPECT_EQ(protocol.push(from(0), 0), std::vector<int>{0});
  EXPECT_EQ(protocol.push(from(1), 0), std::vector<int>{1});
  EXPECT_TRUE(protocol.push(from(0), 1).empty());  // 2 pushes ahead of worker 2: held back
  EXPECT_EQ(protocol.leave(2), std::vector<int>{0});  // worker 2 is lost: worker 0 goes on
  EXPECT_EQ(protocol.push(from(1), 2), std::vector<int>{1});
  protocol.rejoin(2);  // level with the slowest present (2 pushes), so nobody is held back by it
  EXPECT_EQ(protocol.push(from(0), 3), std::vector<int>{0});
  EXPECT_EQ(role.applied, 5);
}

TEST_F(WorldFailures, BadFailureSpecsAreRejectedWithFileAndLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(<failures timeout="1s"><host name="nowhere" at="1s"/></failures>)", "host 'nowhere' is not in platform"},
      {R"(<failures timeout="1s"><link name="nolink" at="1s"/></failures>)", "link 'nolink' is not in platform"},
      {R"(<failures timeout="1s"><host name="w1" at="10"/></failures>)", "has no unit"},
      {R"(<failures timeout="1s"><host name="w1" round="9"/></failures>)", "after the last round of training"},
      {R"(<failures timeout="1s"><random mtbf="0s"/></failures>)", "must be positive"},
      {R"(<failures><host name="w1" at="1s"/></failures>)", "'timeout': is required"},
      {R"(<failures timeout="1s"><host name="w1" at="1s" round="2"/></failures>)", "not both"},
      {R"(<failures timeout="1s"/>)", "needs at least one"},
  };
  for (const auto& [failures, message] : cases) {
    const auto r = run("bad", 8, failures);
    EXPECT_EQ(r.result.exit_code, 2) << failures << "\n" << r.result.out;
    EXPECT_NE(r.result.out.find((dir_ / "bad.xml").string() + ":"), std::string::npos) << r.result.out;
    EXPECT_NE(r.result.out.find(message), std::string::npos) << failures << "\n" << r.result.out;
    EXPECT_FALSE(std::filesystem::exists(r.out));
  }
}

TEST_F(WorldFailures, StreamingAlgorithmsAreRefusedAtValidation) {
  const auto r = run("streaming", 8, R"(<failures timeout="1s"><host name="w1" at="1s"/></failures>)", "",
                     R"(name="streaming-diloco" eta="0.05" local-steps="4" fragments="2" overlap="1")");
  EXPECT_EQ(r.result.exit_code, 2) << r.result.out;
  EXPECT_NE(r.result.out.find("not supported with the streaming algorithm streaming-diloco"), std::string::npos)
      << r.result.out;
  EXPECT_FALSE(std::filesystem::exists(r.out)) << "nothing is written on exit 2";
}

}  // namespace
