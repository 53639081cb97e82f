// The stragglers studies of issue 10 expand to the runs their README sections and XML comments
// announce: eight algorithms × LAN/WAN × no straggler, one near or one far × 5 seeds on breast cancer, eight on
// the Fashion-MNIST MLP over the WAN × 5 seeds, every algorithm with the same gradients per worker.
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

using dmlsim::testutil::TempDir;
namespace testutil = dmlsim::testutil;

namespace {

// The `dmlsim sweep --list` output of a shipped study.
std::string listed_runs(const std::string& study, const TempDir& dir) {
  const auto listed = testutil::run_dmlsim(fmt::format("sweep {} --list --out {}", study, (dir / "r").string()));
  EXPECT_EQ(listed.exit_code, 0) << listed.out;
  return listed.out;
}

std::size_t count_runs(const std::string& listed) {
  std::size_t runs = 0;
  for (auto at = listed.find("dmlsim' run "); at != std::string::npos; at = listed.find("dmlsim' run ", at + 1)) ++runs;
  return runs;
}

}  // namespace

TEST(AsyncStudies, BreastCancerStudyExpandsToItsTwoHundredAndFortyRuns) {
  TempDir dir;
  const auto listed = listed_runs("scenarios/studies/async-stragglers.xml", dir);
  EXPECT_EQ(count_runs(listed), 240u) << listed;  // 8 algorithms × 2 platforms × 3 straggler settings × 5 seeds
  // MA's 60 rounds of 5 local steps are SSGD's 300 gradients per worker.
  EXPECT_NE(listed.find("algorithm-ma_rounds-60_platform-wan-geo_server-us-east-0_stragglers-worker-2_seed-5"), std::string::npos)
      << listed;
  EXPECT_NE(listed.find("algorithm-asgd_rounds-1200_platform-lan_server-node-0_stragglers-none_seed-1"), std::string::npos)
      << listed;
}

TEST(AsyncStudies, FashionMnistStudyExpandsToItsEightyRuns) {
  TempDir dir;
  const auto listed = listed_runs("scenarios/studies/async-stragglers-fmnist.xml", dir);
  EXPECT_EQ(count_runs(listed), 80u) << listed;  // 8 algorithms × 2 straggler settings × 5 seeds
  // 9,600 gradients each at most: 1200 synchronous rounds of 8 workers, 240 MA rounds of 5 steps,
  // 9,600 pushes or AD-PSGD steps; every run evaluated every 200 gradients, stopped at 0.85.
  EXPECT_NE(listed.find("algorithm-ma_eta-0.5_rounds-240_eval-every-5_stragglers-one-3x_seed-5"), std::string::npos) << listed;
  EXPECT_NE(listed.find("algorithm-ssp_eta-0.7_rounds-9600_eval-every-200_stragglers-none_seed-1"), std::string::npos) << listed;
  EXPECT_NE(listed.find("algorithm-adpsgd_eta-"), std::string::npos) << listed;
  EXPECT_NE(listed.find("stop.target-accuracy=0.85"), std::string::npos) << listed;
}
