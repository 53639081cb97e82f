// Pure pieces of the topologies: chunk sizes, tree shapes; and the run monitor's stop rules.
#include "experiment/run_monitor.hpp"
#include "sim/message.hpp"
#include "sim/topology/tree_shape.hpp"

#include <gtest/gtest.h>
#include <cmath>
#include <numeric>

#include "experiment/experiment.hpp"
#include "scenario/scenario.hpp"

using namespace dmlsim;

TEST(Chunks, SizesDifferByAtMostOneParameterAndAddUpToTheVector) {
  for (std::uint64_t params : {1ull, 7ull, 31ull, 100ull, 1001ull})
    for (int parts : {1, 2, 3, 4, 7, 8}) {
      std::uint64_t total = 0, smallest = params, largest = 0;
      for (int c = 0; c < parts; ++c) {
        const auto n = chunk_parameters(params, parts, c);
        total += n;
        smallest = std::min(smallest, n);
        largest = std::max(largest, n);
      }
      EXPECT_EQ(total, params) << params << " in " << parts;
      EXPECT_LE(largest - smallest, 1u) << params << " in " << parts;
    }
  EXPECT_EQ(MessageSizes({10, 8, 64}).whole(), 144u);
  EXPECT_EQ(MessageSizes({10, 4, 0}).of(3), 12u);
}

namespace {

std::vector<TreeNode> kary(int count, int arity) {
  std::vector<TreeNode> tree;
  for (int k = 0; k < count; ++k) tree.push_back(kary_tree_node(k, count, arity));
  return tree;
}

std::vector<TreeNode> binomial(int count) {
  std::vector<TreeNode> tree;
  for (int k = 0; k < count; ++k) tree.push_back(binomial_tree_node(k, count));
  return tree;
}

// Every node but the root has one parent that lists it as a child.
void expect_consistent(const std::vector<TreeNode>& tree) {
  std::size_t edges = 0;
  for (std::size_t i = 0; i < tree.size(); ++i) {
    edges += tree[i].children.size();
    for (int c : tree[i].children) EXPECT_EQ(tree[static_cast<std::size_t>(c)].parent, static_cast<int>(i));
  }
  EXPECT_EQ(edges, tree.size() - 1);
  EXPECT_EQ(tree.front().parent, -1);
}

}  // namespace

TEST(Trees, KaryHeapOrderAndDepth) {
  const auto t = kary(7, 2);
  expect_consistent(t);
  EXPECT_EQ(t[0].children, (std::vector<int>{1, 2}));
  EXPECT_EQ(t[2].children, (std::vector<int>{5, 6}));
  EXPECT_EQ(tree_depth(t), 2);
  EXPECT_EQ(tree_depth(kary(8, 2)), 3);
  EXPECT_EQ(tree_depth(kary(9, 3)), 2);
  EXPECT_EQ(tree_depth(kary(13, 3)), 2);
  EXPECT_EQ(tree_depth(kary(14, 3)), 3);
  EXPECT_EQ(tree_depth(kary(1, 2)), 0);
  for (int n = 1; n < 40; ++n) expect_consistent(kary(n, 3));
}

// Children send at once over their own links, so the depth is the most set bits of a node number:
// ceil(log2 n) when n is a power of two.
TEST(Trees, BinomialDepthIsTheMostSetBits) {
  const auto t = binomial(8);
  EXPECT_EQ(t[0].children, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(t[4].children, (std::vector<int>{5, 6}));
  EXPECT_EQ(t[6].parent, 4);
  EXPECT_EQ(t[7].parent, 6);
  for (int n = 2; n < 70; ++n) {
    expect_consistent(binomial(n));
    int most_bits = 0;
    for (int k = 0; k < n; ++k) most_bits = std::max(most_bits, __builtin_popcount(static_cast<unsigned>(k)));
    EXPECT_EQ(tree_depth(binomial(n)), most_bits) << n;
  }
  for (int n : {2, 4, 8, 16, 32, 64}) EXPECT_EQ(tree_depth(binomial(n)), static_cast<int>(std::log2(n)));
}

namespace {

// A clock the test moves by hand, with a fixed traffic count.
class HandClock final : public RunProbe {
 public:
  double time = 0;
  double charged = 0;
  double now() override { return time; }
  void charge_evaluation(double flops) override { charged += flops; }
  Traffic traffic() override { return {100, 2}; }
};

}  // namespace

class Monitor : public ::testing::Test {
 protected:
  Monitor() : scenario_(load_scenario(std::filesystem::path(DMLSIM_SOURCE_DIR) / "scenarios/seed/ssgd.xml")),
              experiment_(build_experiment(scenario_)) {}
  MonitorRules rules(int rounds, int eval_every) {
    MonitorRules r;
    r.rounds = rounds;
    r.eval_every = eval_every;
    return r;
  }
  std::vector<int> evaluated_rounds() const {
    std::vector<int> rounds;
    for (const auto& row : record_.rows) rounds.push_back(row.round);
    return rounds;
  }
  Scenario scenario_;
  Experiment experiment_;
  RunRecord record_;
  HandClock clock_;
};

TEST_F(Monitor, EvaluatesEveryNRoundsAndTheLastAndRunsToTheEnd) {
  RunMonitor monitor(experiment_, rules(10, 3), record_);
  monitor.start(experiment_.initial, clock_);
  for (int round = 1; round <= 10; ++round)
    EXPECT_EQ(monitor.after_round(round, experiment_.initial, clock_), round < 10) << round;
  EXPECT_EQ(evaluated_rounds(), (std::vector<int>{0, 3, 6, 9, 10}));
  EXPECT_EQ(record_.stop_reason, "rounds");
  EXPECT_EQ(record_.rows.back().bytes_sent, 100u);
  EXPECT_GT(record_.rows.back().test_accuracy, 0.0);
}

TEST_F(Monitor, StopsAtTheTargetAccuracyOnAnEvaluatedRound) {
  auto r = rules(10, 2);
  r.target_accuracy = 0.0;
  RunMonitor monitor(experiment_, r, record_);
  monitor.start(experiment_.initial, clock_);
  EXPECT_TRUE(monitor.after_round(1, experiment_.initial, clock_));
  EXPECT_FALSE(monitor.after_round(2, experiment_.initial, clock_));
  EXPECT_EQ(record_.stop_reason, "target-accuracy");
  EXPECT_EQ(record_.rounds_done, 2);
}

TEST_F(Monitor, StopsAtMaxTimeAndRecordsThatRound) {
  auto r = rules(10, 5);
  r.max_time = 5.0;
  r.charge_eval = true;
  RunMonitor monitor(experiment_, r, record_);
  monitor.start(experiment_.initial, clock_);
  clock_.time = 4.0;
  EXPECT_TRUE(monitor.after_round(1, experiment_.initial, clock_));
  clock_.time = 5.0;
  EXPECT_FALSE(monitor.after_round(2, experiment_.initial, clock_));
  EXPECT_EQ(evaluated_rounds(), (std::vector<int>{0, 2}));
  EXPECT_EQ(record_.stop_reason, "max-time");
  EXPECT_DOUBLE_EQ(clock_.charged, 2 * experiment_.evaluation_flops());
}

TEST_F(Monitor, ReportsDivergence) {
  RunMonitor monitor(experiment_, rules(10, 1), record_);
  monitor.start(experiment_.initial, clock_);
  Vector nan = experiment_.initial;
  nan(0) = std::nan("");
  EXPECT_FALSE(monitor.after_round(1, nan, clock_));
  EXPECT_NE(monitor.failure().find("diverged at round 1"), std::string::npos);
}

TEST_F(Monitor, BareRowsCarryTimeAndTrafficOnly) {
  RunMonitor monitor(experiment_, rules(2, 1), record_, false);
  monitor.start(experiment_.initial, clock_);
  monitor.after_round(1, experiment_.initial, clock_);
  EXPECT_EQ(record_.rows.back().test_accuracy, 0.0);
  EXPECT_EQ(record_.rows.back().messages_sent, 2u);
}
