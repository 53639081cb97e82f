// Golden identities between algorithms, checked over whole runs with the sequential driver (the
// same roles and batches the simulator uses; test_cli_runs checks the same through SimGrid).
#include "experiment/sequential_driver.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

using namespace dmlsim;
using testutil::max_relative_difference;
using testutil::trajectory;

namespace {

Experiment seed_experiment(const std::string& algorithm, const std::vector<std::string>& sets, bool standardize) {
  std::vector<Override> overrides;
  for (const auto& s : sets) overrides.push_back(parse_override(s));
  overrides.push_back(parse_override(std::string("data.standardize=") + (standardize ? "true" : "false")));
  overrides.push_back(parse_override("batch.resample=step"));
  return build_experiment(load_scenario(testutil::source_dir() / "scenarios/seed" / (algorithm + ".xml"), overrides));
}

class Identity : public ::testing::TestWithParam<bool> {};

}  // namespace

TEST_P(Identity, MaWithOneLocalStepIsSsgdWithBatchMeans) {
  const auto ssgd = trajectory(seed_experiment("ssgd", {"algorithm.average=batch-means"}, GetParam()));
  const auto ma = trajectory(seed_experiment("ma", {"algorithm.local-steps=1"}, GetParam()));
  ASSERT_EQ(ssgd.size(), 300u);
  EXPECT_LT(max_relative_difference(ssgd, ma), 1e-12);
}

TEST_P(Identity, BmufWithoutMomentumAndUnitGainIsMa) {
  const auto ma = trajectory(seed_experiment("ma", {}, GetParam()));
  const auto bmuf = trajectory(
      seed_experiment("bmuf", {"algorithm.mu=0", "algorithm.zeta=1", "algorithm.delta-init=zero"}, GetParam()));
  EXPECT_LT(max_relative_difference(ma, bmuf), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(RawAndStandardised, Identity, ::testing::Values(false, true));

TEST(Identity, EasgdWithoutElasticityLeavesTheCentreUnchanged) {
  const auto e = seed_experiment("easgd", {"algorithm.rho=0"}, true);
  for (const auto& w : trajectory(e)) ASSERT_EQ(w, e.initial);
}

TEST(Variants, SeedAndPaperEasgdOrdersDiffer) {
  const auto seed_order = trajectory(seed_experiment("easgd", {}, true));
  const auto paper_order = trajectory(seed_experiment("easgd", {"algorithm.order=paper"}, true));
  EXPECT_GT(max_relative_difference(seed_order, paper_order), 1e-6);
}

TEST(Variants, NesterovAndCntkFilterChangeBmuf) {
  const auto plain = trajectory(seed_experiment("bmuf", {"algorithm.delta-init=zero"}, true));
  const auto nesterov = trajectory(seed_experiment("bmuf", {"algorithm.delta-init=zero", "algorithm.momentum=nesterov"}, true));
  const auto cntk = trajectory(seed_experiment("bmuf", {"algorithm.delta-init=zero", "algorithm.filter=cntk"}, true));
  EXPECT_GT(max_relative_difference(plain, nesterov), 1e-6);
  EXPECT_GT(max_relative_difference(plain, cntk), 1e-6);
}

TEST(Variants, FirstBmufBlockWithZeroDeltaMovesByZetaTowardsTheAverage) {
  // One block: delta = zeta (w_avg - w0), w1 = w0 + delta; w_avg is MA's first round.
  auto ma = seed_experiment("ma", {"training.rounds=1"}, true);
  auto bmuf = seed_experiment("bmuf", {"training.rounds=1", "algorithm.delta-init=zero"}, true);
  const Vector w_avg = run_sequential(ma);
  const Vector w1 = run_sequential(bmuf);
  const Vector expected = ma.initial + 0.1 * (w_avg - ma.initial);
  EXPECT_LT((w1 - expected).norm(), 1e-12 * expected.norm());
}

TEST(Variants, SeedsPerRoundBatchReuseDiffersFromFreshBatches) {
  const auto fresh = trajectory(seed_experiment("ma", {}, true));
  auto reuse_experiment = seed_experiment("ma", {}, true);
  reuse_experiment.batch.same_batch_within_round = true;
  EXPECT_GT(max_relative_difference(fresh, trajectory(reuse_experiment)), 1e-6);
}

TEST(Determinism, SameSeedSameTrajectoryOtherSeedOther) {
  const auto a = trajectory(seed_experiment("ma", {}, true));
  const auto b = trajectory(seed_experiment("ma", {}, true));
  const auto c = trajectory(seed_experiment("ma", {"scenario.seed=2"}, true));
  EXPECT_EQ(max_relative_difference(a, b), 0.0);
  EXPECT_GT(max_relative_difference(a, c), 1e-6);
}

namespace {

// FNV-1a over the bytes of every round's parameters: any change in any bit of the trajectory changes it.
std::uint64_t fingerprint(const std::vector<Vector>& models) {
  std::uint64_t hash = 1469598103934665603ull;
  for (const auto& w : models) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(w.data());
    for (std::size_t i = 0; i < static_cast<std::size_t>(w.size()) * sizeof(double); ++i)
      hash = (hash ^ bytes[i]) * 1099511628211ull;
  }
  return hash;
}

}  // namespace

// The shipped seed and WAN scenarios train bit for bit as they did when the algorithm registry
// replaced the hand-written switches (the fingerprints were taken before and after that change).
// A change to an algorithm's maths, its defaults or the order of its sums shows here. (Simulated
// times depend on the network model, which other tests pin; the weights do not.)
TEST(Pinned, ShippedScenariosTrainBitForBitAsRecorded) {
  const std::vector<std::pair<std::string, std::uint64_t>> pinned = {
      {"seed/ssgd.xml", 5630884839287646485ull},  {"seed/ma.xml", 13968733504519568383ull},
      {"seed/bmuf.xml", 5330667287958883962ull},  {"seed/easgd.xml", 13358656649169648394ull},
      {"wan/ssgd.xml", 11528468509042942232ull},  {"wan/ma.xml", 8171870378682891310ull},
      {"wan/bmuf.xml", 3568460271064826410ull},   {"wan/easgd.xml", 9379468880832461437ull},
  };
  for (const auto& [scenario, expected] : pinned) {
    const auto e = build_experiment(load_scenario(testutil::source_dir() / "scenarios" / scenario));
    EXPECT_EQ(fingerprint(trajectory(e)), expected) << scenario;
  }
}
