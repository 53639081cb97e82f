// AD-PSGD's staleness in summary.json: for each worker step, the steps other workers completed
// between the worker's read of its model for the gradient and that gradient's step (ASGD's
// staleness, for pairwise gossip). One entry per step; none for one worker; none for D-PSGD.
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace testutil = dmlsim::testutil;

namespace {

nlohmann::json run_summary(const testutil::TempDir& dir, const std::string& scenario, const std::string& sets) {
  const auto out = dir / "r";
  std::filesystem::remove_all(out);
  const auto result = testutil::run_dmlsim(fmt::format("run -q {} {} --out {}", scenario, sets, out.string()));
  EXPECT_EQ(result.exit_code, 0) << result.out;
  return nlohmann::json::parse(testutil::read_text(out / "summary.json"));
}

}  // namespace

TEST(AdpsgdStaleness, EveryStepIsCountedAndTheFarWorkersStepsAreStale) {
  testutil::TempDir dir;
  const auto summary = run_summary(dir, "scenarios/wan/adpsgd.xml", "--set training.rounds=400");
  const auto& staleness = summary.at("staleness");
  EXPECT_EQ(staleness.at("updates").get<int>(), 400);
  std::uint64_t total = 0, weighted = 0;
  const auto histogram = staleness.at("histogram").get<std::vector<std::uint64_t>>();
  for (std::size_t i = 0; i < histogram.size(); ++i) {
    total += histogram[i];
    weighted += i * histogram[i];
  }
  EXPECT_EQ(total, 400u);
  EXPECT_DOUBLE_EQ(staleness.at("mean").get<double>(), static_cast<double>(weighted) / 400.0);
  EXPECT_EQ(staleness.at("max").get<std::size_t>(), histogram.size() - 1);
  // Workers in three regions: the others step while a far worker's exchange crosses the WAN.
  EXPECT_GT(staleness.at("max").get<int>(), 3);
}

TEST(AdpsgdStaleness, OneWorkerIsNeverStaleAndDpsgdRecordsNone) {
  testutil::TempDir dir;
  const auto alone = run_summary(dir, "scenarios/wan/adpsgd.xml", "--set training.rounds=50 --set workers.count=1");
  EXPECT_EQ(alone.at("staleness").at("histogram").get<std::vector<std::uint64_t>>(), std::vector<std::uint64_t>{50});
  const auto lockstep = run_summary(dir, "scenarios/wan/dpsgd.xml", "--set training.rounds=20");
  EXPECT_FALSE(lockstep.contains("staleness"));
}
