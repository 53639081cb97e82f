#include "report/outputs.hpp"
#include "report/run_record.hpp"
#include "test_util.hpp"
#include "util/atomic_file.hpp"

#include <cmath>
#include <gtest/gtest.h>

using namespace dmlsim;

namespace {
std::vector<RoundRow> rows_with(const std::vector<double>& accuracies) {
  std::vector<RoundRow> rows;
  for (std::size_t i = 0; i < accuracies.size(); ++i)
    rows.push_back({static_cast<int>(i), 0.5 * static_cast<double>(i), accuracies[i], 0, 0, 100 * i, 2 * i});
  return rows;
}
}  // namespace

TEST(Ewma, MatchesTheSeedsSmoothing) {
  const auto s = ewma({0.1, 0.5, 0.7}, 0.9);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(s[0], 0.1);
  EXPECT_DOUBLE_EQ(s[1], 0.9 * 0.1 + 0.1 * 0.5);
  EXPECT_DOUBLE_EQ(s[2], 0.9 * s[1] + 0.1 * 0.7);
}

TEST(TimeToAccuracy, FirstEvaluationAtOrAboveTarget) {
  const auto rows = rows_with({0.5, 0.8, 0.95, 0.9, 0.97});
  const auto hits = time_to_accuracy(rows, {0.8, 0.95, 0.99});
  ASSERT_EQ(hits.size(), 3u);
  ASSERT_TRUE(hits[0].first);
  EXPECT_EQ(hits[0].first->round, 1);  // "at or above"
  EXPECT_EQ(hits[1].first->round, 2);
  EXPECT_DOUBLE_EQ(hits[1].first->sim_time, 1.0);
  EXPECT_EQ(hits[1].first->bytes_sent, 200u);
  EXPECT_FALSE(hits[2].first);  // never reached: reported, not dropped
}

TEST(TimeToAccuracy, SmoothedCurveIsLater) {
  const auto rows = rows_with({0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0});
  const auto raw = time_to_accuracy(rows, {0.7});
  const auto smooth = time_to_accuracy(rows, {0.7}, 0.9);
  EXPECT_EQ(raw[0].first->round, 1);
  // s_i = 1 - 0.5 * 0.9^i  >= 0.7  once 0.9^i <= 0.6, i.e. i = 5.
  EXPECT_EQ(smooth[0].first->round, 5);
}

TEST(TimeToAccuracy, SmoothingIsPerRoundWhenEvaluationsAreSparse) {
  // The curve above evaluated every 50 rounds: per round, 50 steps of 0.9 have passed by the first
  // evaluation after round 0, so the smoothed curve is reached at round 50, as the raw one.
  auto rows = rows_with({0.5, 1.0, 1.0});
  for (auto& row : rows) row.round *= 50;
  const auto smooth = time_to_accuracy(rows, {0.7}, 0.9);
  ASSERT_TRUE(smooth[0].first);
  EXPECT_EQ(smooth[0].first->round, 50);
  EXPECT_DOUBLE_EQ(ewma_over_rounds(rows, 0.9)[1], 1.0 - 0.5 * std::pow(0.9, 50));
  // Every round evaluated: the seed's smoothing, unchanged.
  const auto dense = rows_with({0.1, 0.5, 0.7});
  EXPECT_EQ(ewma_over_rounds(dense, 0.9), ewma({0.1, 0.5, 0.7}, 0.9));
}

TEST(Outputs, RoundsCsvHasHeaderAndRoundTripPrecision) {
  const auto csv = rounds_csv({{3, 0.1 + 0.2, 1.0 / 3.0, 0.25, 0.5, 1234, 8, 1000, 234, 0, 0.125, 0.0625}});
  EXPECT_EQ(csv,
            "round,sim_time,test_accuracy,test_loss,train_loss,bytes_sent,messages_sent,bytes_intra_zone,bytes_inter_zone,"
            "mean_compute_time,mean_comm_time\n"
            "3,0.30000000000000004,0.3333333333333333,0.25,0.5,1234,8,1000,234,0.125,0.0625\n");
}

TEST(AtomicFile, WritesWholeFileAndLeavesNoTemporary) {
  testutil::TempDir dir;
  const auto target = dir / "sub" / "out.txt";
  write_file_atomically(target, "hello\n");
  EXPECT_EQ(read_file(target), "hello\n");
  write_file_atomically(target, "again\n");
  EXPECT_EQ(read_file(target), "again\n");
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(target.parent_path())) ++files;
  EXPECT_EQ(files, 1);
  EXPECT_THROW(read_file(dir / "nope"), std::runtime_error);
}
