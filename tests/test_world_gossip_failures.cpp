// Failures on the gossip topology (sim/topology/resilient_gossip.cpp), through the binary on a full
// mesh of five workers the test writes (every pair of hosts on its own link), gossip graph a ring:
// a D-PSGD worker that dies stops, its neighbours move its mixing weight to themselves and the run
// trains on (the model is the sequential lockstep D-PSGD with that node out from the step it died,
// to 1e-12); a D-PSGD host that comes back rejoins, and runs under random failures and repairs end and rerun
// identically; a link down cuts an edge of the ring and the run goes
// on with all five; AD-PSGD never picks a dead partner and finishes, also under frequent random
// failures and repairs; reruns are byte-identical;
// losing every worker is exit 3 with nothing written.
#include "test_util.hpp"

#include "algorithms/decentralized.hpp"
#include "algorithms/registry.hpp"
#include "experiment/experiment.hpp"
#include "scenario/scenario.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace dmlsim;
using namespace dmlsim::testutil;
namespace fs = std::filesystem;

namespace {

constexpr int kWorkers = 5;

// Workers "w0".."w4", every pair on its own full-duplex link "wA-wB".
std::string mesh_platform() {
  std::string body, routes;
  for (int k = 0; k < kWorkers; ++k) body += fmt::format(R"(<host id="w{}" speed="1Gf"/>)", k) + "\n";
  for (int a = 0; a < kWorkers; ++a)
    for (int b = a + 1; b < kWorkers; ++b) {
      const auto link = fmt::format("w{}-w{}", a, b);
      body += fmt::format(R"(<link id="{}" bandwidth="100MBps" latency="10ms" sharing_policy="SPLITDUPLEX"/>)", link) + "\n";
      routes += both_ways("route", fmt::format("w{}", a), fmt::format("w{}", b), link);
    }
  return full_zone_platform(body + routes, "mesh");
}

class GossipFailures : public ::testing::Test {
 protected:
  void SetUp() override { write_text(dir_ / "mesh.xml", mesh_platform()); }

  SavedRun run(const std::string& name, const std::string& algorithm, int rounds, const std::string& failures,
               int seed = 3) {
    FailureScenario s{"gossip-failures", "mesh.xml", "w0,w1,w2,w3,w4", R"(<topology kind="gossip" graph="ring"/>)",
                      failures, rounds};
    s.algorithm = algorithm;
    s.seed = seed;
    return run_failure_scenario(dir_.path(), name, s);
  }

  static nlohmann::json summary(const SavedRun& r) { return nlohmann::json::parse(read_text(r.out / "summary.json")); }

  TempDir dir_;
};

const std::string kDpsgd = R"(<algorithm name="dpsgd" eta="0.05"/>)";
const std::string kAdpsgd = R"(<algorithm name="adpsgd" eta="0.05"/>)";

// Lockstep D-PSGD on the scenario's experiment, worker `dead` out from step `from` on (its
// neighbours get no model from it): the average of the live nodes' models after the last step.
Vector lockstep_without(const fs::path& scenario, int dead, int from) {
  const auto e = build_experiment(load_scenario(scenario));
  const auto& algorithm = e.algorithm.params.algorithm();
  std::vector<std::unique_ptr<GossipNode>> nodes;
  std::vector<LocalTrainer> trainers;
  for (int k = 0; k < kWorkers; ++k) {
    nodes.push_back(algorithm.make_node(e.algorithm, k, e.initial));
    trainers.push_back(e.make_trainer(k));
  }
  std::vector<Vector> sent(kWorkers);
  const auto alive = [&](int k, int step) { return k != dead || step < from; };
  for (int step = 1; step <= e.rounds; ++step) {
    for (int k = 0; k < kWorkers; ++k) {
      sent[static_cast<std::size_t>(k)] = nodes[static_cast<std::size_t>(k)]->model();
      if (alive(k, step)) nodes[static_cast<std::size_t>(k)]->before_exchange(step, trainers[static_cast<std::size_t>(k)]);
    }
    for (int k = 0; k < kWorkers; ++k) {
      if (!alive(k, step)) continue;
      std::vector<const Vector*> models;
      for (int j : mixing_order(*e.algorithm.graph, k)) models.push_back(alive(j, step) ? &sent[static_cast<std::size_t>(j)] : nullptr);
      nodes[static_cast<std::size_t>(k)]->after_exchange(step, models, trainers[static_cast<std::size_t>(k)]);
    }
  }
  std::vector<const Vector*> live;
  for (int k = 0; k < kWorkers; ++k)
    if (alive(k, e.rounds)) live.push_back(&nodes[static_cast<std::size_t>(k)]->model());
  return consensus(live).average;
}

TEST(GossipMixing, AnAbsentNeighboursWeightMovesToTheNodeItself) {
  MixingRow row = {{0, 0.25}, {1, 0.5}, {2, 0.25}};
  const Vector a = Vector::Constant(2, 1.0), b = Vector::Constant(2, 2.0);
  std::vector<const Vector*> models = {&a, &b, nullptr};
  drop_absent(row, models, 1);
  ASSERT_EQ(row.size(), 2u);
  EXPECT_EQ(row[0].node, 0);
  EXPECT_DOUBLE_EQ(row[0].weight, 0.25);
  EXPECT_EQ(row[1].node, 1);
  EXPECT_DOUBLE_EQ(row[1].weight, 0.75);
  EXPECT_EQ(models, (std::vector<const Vector*>{&a, &b}));
}

TEST_F(GossipFailures, ADeadDpsgdWorkerStopsAndTheOthersTrainTheLockstepModelWithoutIt) {
  const auto r = run("crash", kDpsgd, 40, R"(<failures timeout="0.5s"><host name="w2" round="10"/></failures>)");
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto participants = rounds_column(r.out, "participants");
  ASSERT_EQ(participants.size(), 41u);
  for (std::size_t step = 0; step < participants.size(); ++step)
    EXPECT_EQ(participants[step], step < 10 ? 5 : 4) << "step " << step;
  const auto s = summary(r);
  const auto& event = s["failures"]["events"][0];
  EXPECT_EQ(event["target"], "w2");
  EXPECT_EQ(event["round"], 10);
  EXPECT_EQ(event["rounds_cost"], 31);  // steps 10 to 40
  EXPECT_EQ(event["missed_uploads"], 31);
  EXPECT_GT(event["rows_missed"].get<int>(), 0);
  EXPECT_EQ(s["failures"]["workers_out_at_end"], nlohmann::json::array({2}));
  const Vector expected = lockstep_without(dir_ / "crash.xml", 2, 10);
  const Vector got = read_weights(r.out / "weights.csv");
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_LT((got - expected).norm(), 1e-12 * expected.norm());
  EXPECT_GT(rounds_column(r.out, "test_accuracy").back(), 0.85);
}

TEST_F(GossipFailures, ADpsgdHostThatComesBackRejoinsAndTrainsOn) {
  const auto r = run("back", kDpsgd, 40, R"(<failures timeout="0.5s"><host name="w2" round="10" for="0.2s"/></failures>)");
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  // Out from step 10 until its restart, then in again to the end: 5, then 4 for a while, then 5.
  const auto participants = rounds_column(r.out, "participants");
  ASSERT_EQ(participants.size(), 41u);
  std::size_t back = 10;
  while (back < participants.size() && participants[back] == 4) ++back;
  for (std::size_t step = 0; step < participants.size(); ++step)
    EXPECT_EQ(participants[step], step < 10 || step >= back ? 5 : 4) << "step " << step;
  EXPECT_GT(back, 11u) << "out for at least the step it died in and the next";
  EXPECT_LT(back, 41u) << "it took part again before the end";
  const auto s = summary(r);
  const auto& event = s["failures"]["events"][0];
  EXPECT_FALSE(event["up_at"].is_null());
  EXPECT_EQ(event["rounds_cost"], static_cast<int>(back) - 10);
  EXPECT_EQ(s["failures"]["workers_out_at_end"], nlohmann::json::array());
  EXPECT_GT(rounds_column(r.out, "test_accuracy").back(), 0.85);
}

// Repeated failures and repairs: every run ends (no node waits for good on a neighbour that came
// back, no node alone runs past the last step, no actor killed as it ends aborts the run) and reruns
// byte-identically. Seeds and rates under which earlier versions hung or aborted.
TEST_F(GossipFailures, DpsgdUnderRandomFailuresAndRepairsFinishesAndRerunsIdentically) {
  const std::vector<std::pair<int, std::string>> cases = {
      {1, R"(<random mtbf="0.3s" mttr="0.1s"/>)"}, {3, R"(<random mtbf="0.3s" mttr="0.1s"/>)"},
      {8, R"(<random mtbf="0.3s" mttr="0.1s"/>)"}, {4, R"(<random mtbf="1s" mttr="0.5s"/>)"},
      {7, R"(<random mtbf="0.1s" mttr="0.05s"/>)"}, {9, R"(<random mtbf="0.05s" mttr="0.2s"/>)"}};
  for (const auto& [seed, random] : cases) {
    const std::string failures = R"(<failures timeout="0.5s">)" + random + "</failures>";
    const auto name = fmt::format("random-{}", seed);
    const auto r = run(name, kDpsgd, 200, failures, seed);
    ASSERT_EQ(r.result.exit_code, 0) << name << ": " << r.result.out;
    const auto s = summary(r);
    EXPECT_GT(s["failures"]["events"].size(), 2u) << name;
    for (const auto& event : s["failures"]["events"]) EXPECT_LE(event["round"].get<int>(), 200) << name;
    if (seed != cases.front().first) continue;  // one rerun is enough to show determinism
    const auto again = run(name + "-again", kDpsgd, 200, failures, seed);
    EXPECT_EQ(read_text(r.out / "rounds.csv"), read_text(again.out / "rounds.csv"));
    EXPECT_EQ(read_text(r.out / "weights.csv"), read_text(again.out / "weights.csv"));
  }
}

TEST_F(GossipFailures, DpsgdRerunsByteIdentically) {
  const std::string failures = R"(<failures timeout="0.5s"><host name="w2" round="10"/><link name="w0-w1" round="20" for="0.2s"/></failures>)";
  const auto r = run("again", kDpsgd, 40, failures);
  const auto again = run("again-2", kDpsgd, 40, failures);
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  EXPECT_EQ(read_text(r.out / "rounds.csv"), read_text(again.out / "rounds.csv"));
  EXPECT_EQ(read_text(r.out / "weights.csv"), read_text(again.out / "weights.csv"));
}

TEST_F(GossipFailures, ALinkDownCutsAnEdgeOfTheRingUntilItIsBack) {
  const auto plain = run("plain", kDpsgd, 40, R"(<failures timeout="0.5s"><host name="w2" round="40"/></failures>)");
  const auto cut = run("cut", kDpsgd, 40, R"(<failures timeout="0.5s"><link name="w1-w2" round="10" for="0.2s"/></failures>)");
  ASSERT_EQ(cut.result.exit_code, 0) << cut.result.out;
  ASSERT_EQ(plain.result.exit_code, 0) << plain.result.out;
  for (const double p : rounds_column(cut.out, "participants")) EXPECT_EQ(p, 5) << "nobody died";
  const auto s = summary(cut);
  EXPECT_EQ(s["failures"]["events"][0]["workers"], nlohmann::json::array({1, 2}));
  EXPECT_FALSE(s["failures"]["events"][0]["up_at"].is_null());
  EXPECT_EQ(s["failures"]["missed_uploads"], 0);
  // The cut edge changed the mixing: the model differs from the run whose failure comes only at
  // its last step.
  const auto a = rounds_column(cut.out, "test_loss"), b = rounds_column(plain.out, "test_loss");
  EXPECT_EQ(a[9], b[9]);
  EXPECT_NE(a[20], b[20]);
}

TEST_F(GossipFailures, AdpsgdGoesOnWithoutADeadWorkerAndRerunsIdentically) {
  const std::string failures = R"(<failures timeout="0.5s"><host name="w2" round="30"/></failures>)";
  const auto r = run("ad", kAdpsgd, 200, failures);
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto participants = rounds_column(r.out, "participants");
  EXPECT_EQ(participants[29], 5);
  EXPECT_EQ(participants.back(), 4);
  const auto s = summary(r);
  EXPECT_EQ(s["failures"]["events"][0]["missed_uploads"], 1);  // one push owed, as an asynchronous star books it
  EXPECT_GT(s["failures"]["events"][0]["rounds_cost"].get<int>(), 100);
  EXPECT_GT(rounds_column(r.out, "test_accuracy").back(), 0.85);
  const auto again = run("ad-again", kAdpsgd, 200, failures);
  EXPECT_EQ(read_text(r.out / "rounds.csv"), read_text(again.out / "rounds.csv"));
  EXPECT_EQ(read_text(r.out / "weights.csv"), read_text(again.out / "weights.csv"));
}

TEST_F(GossipFailures, AdpsgdWithARestartAndALinkFailureFinishes) {
  const auto r = run("ad-back", kAdpsgd, 200,
                     R"(<failures timeout="0.5s"><host name="w2" round="30" for="0.5s"/><link name="w0-w1" round="60" for="0.5s"/></failures>)");
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  EXPECT_EQ(rounds_column(r.out, "participants").back(), 5);
  EXPECT_EQ(summary(r)["failures"]["events"].size(), 2u);
}

// Frequent failures and repairs with a short timeout, steps that take compute time: a responder
// must not answer a requester whose host went down since it asked (SimGrid aborted the run, exit 3:
// a transfer started towards a host that is off; seed 3 did, checked against the earlier version).
TEST_F(GossipFailures, AdpsgdUnderRandomFailuresAndRepairsFinishes) {
  for (const int seed : {1, 2, 3, 4}) {
    FailureScenario s{"gossip-failures", "mesh.xml", "w0,w1,w2,w3,w4", R"(<topology kind="gossip" graph="ring"/>)",
                      R"(<failures timeout="0.05s"><random mtbf="0.1s" mttr="0.05s"/></failures>)", 300};
    s.algorithm = kAdpsgd;
    s.seed = seed;
    s.forward_flops = "1000000";  // 8 ms of compute per step: nodes do not step alone at no cost
    const auto name = fmt::format("ad-random-{}", seed);
    const auto r = run_failure_scenario(dir_.path(), name, s);
    ASSERT_EQ(r.result.exit_code, 0) << name << ": " << r.result.out;
    EXPECT_GT(summary(r)["failures"]["events"].size(), 20u) << name;
    EXPECT_EQ(rounds_column(r.out, "round").back(), 300) << name;
  }
}

TEST_F(GossipFailures, LosingEveryWorkerIsExit3WithNothingWritten) {
  std::string failures = R"(<failures timeout="0.5s">)";
  for (int k = 0; k < kWorkers; ++k) failures += fmt::format(R"(<host name="w{}" round="5"/>)", k);
  failures += "</failures>";
  for (const auto& algorithm : {kDpsgd, kAdpsgd}) {
    const auto r = run("all", algorithm, 40, failures);
    EXPECT_EQ(r.result.exit_code, 3) << r.result.out;
    EXPECT_NE(r.result.out.find("every worker went down"), std::string::npos) << r.result.out;
    EXPECT_FALSE(fs::exists(r.out));
  }
}

}  // namespace
