// The run monitor's lazy form (what a gossip run uses: forming the average of K models costs K ×
// parameters): the model is asked for only at the rounds it records, the rows are those of the
// eager form, and the divergence check is the caller's flag.
#include "experiment/run_monitor.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

using namespace dmlsim;

namespace {

MonitorRules every_fifth_of_twenty() {
  MonitorRules rules;
  rules.rounds = 20;
  rules.eval_every = 5;
  return rules;
}

// The model after round r: the initial one shifted by r / 100.
Vector model_at(const Experiment& e, int round) { return (e.initial.array() + round / 100.0).matrix(); }

}  // namespace

TEST(LazyMonitor, FormsTheModelOnlyAtRecordedRoundsAndRecordsTheSameRows) {
  const auto e = testutil::standardized_seed_experiment({});
  NoClock probe;
  RunRecord eager_record, lazy_record;
  RunMonitor eager(e, every_fifth_of_twenty(), eager_record), lazy(e, every_fifth_of_twenty(), lazy_record);
  eager.start(e.initial, probe);
  lazy.start(e.initial, probe);
  std::vector<int> formed;
  Vector w;
  for (int round = 1; round <= 20; ++round) {
    const Vector now = model_at(e, round);
    const bool eager_on = eager.after_round(round, now, probe);
    const bool lazy_on = lazy.after_round(round, [&]() -> const Vector& {
      formed.push_back(round);
      return w = now;
    }, true, probe);
    EXPECT_EQ(eager_on, lazy_on) << round;
  }
  EXPECT_EQ(formed, (std::vector<int>{5, 10, 15, 20}));
  ASSERT_EQ(eager_record.rows.size(), lazy_record.rows.size());
  for (std::size_t i = 0; i < eager_record.rows.size(); ++i) {
    EXPECT_EQ(eager_record.rows[i].round, lazy_record.rows[i].round);
    EXPECT_EQ(eager_record.rows[i].test_accuracy, lazy_record.rows[i].test_accuracy);
    EXPECT_EQ(eager_record.rows[i].test_loss, lazy_record.rows[i].test_loss);
  }
}

TEST(LazyMonitor, ANonFiniteFlagStopsTheRunWithoutFormingTheModel) {
  const auto e = testutil::standardized_seed_experiment({});
  NoClock probe;
  RunRecord record;
  RunMonitor monitor(e, every_fifth_of_twenty(), record);
  monitor.start(e.initial, probe);
  int formed = 0;
  const auto model = [&]() -> const Vector& {
    ++formed;
    return e.initial;
  };
  EXPECT_TRUE(monitor.after_round(1, model, true, probe));
  EXPECT_FALSE(monitor.after_round(2, model, false, probe));
  EXPECT_EQ(formed, 0);
  EXPECT_NE(monitor.failure().find("diverged at round 2"), std::string::npos) << monitor.failure();
}
