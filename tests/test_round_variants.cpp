// FedAvg client sampling and SSGD backup workers: identities to MA and SSGD through the sequential
// driver, and through the simulator that backup workers drop the slowest upload (a straggler on a
// platform written here) and FedAvg sends only to the clients it drew.
#include "algorithms/fedavg.hpp"
#include "experiment/sequential_driver.hpp"
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

using namespace dmlsim;
using namespace dmlsim::testutil;

namespace {

Experiment seed_experiment(const std::string& algorithm, const std::vector<std::string>& sets) {
  std::vector<Override> overrides{parse_override("data.standardize=true"), parse_override("batch.resample=step")};
  for (const auto& s : sets) overrides.push_back(parse_override(s));
  return build_experiment(load_scenario(testutil::source_dir() / "scenarios/seed" / (algorithm + ".xml"), overrides));
}

std::filesystem::path write_star_scenario(const TempDir& dir, const std::string& algorithm) {
  return testutil::write_host_scenario(dir.path(), {"star", 3, 4, testutil::star_platform(4, {"1Gf", "5ms", "1Gf", "200ms"}),
                                                    algorithm + "\n  <training rounds=\"20\"/>"});
}

}  // namespace

TEST(FedAvg, AllClientsWithEqualPartitionsIsModelAveraging) {
  // 398 training rows, K = 2: 199 rows each; Bernoulli batches of 0.1 make an epoch 10 steps.
  const auto fedavg = seed_experiment("ma", {"workers.count=2", "algorithm.name=fedavg", "algorithm.fraction=1",
                                             "algorithm.epochs=2"});
  ASSERT_EQ(fedavg.partitions[0].size(), fedavg.partitions[1].size());
  const auto ma = seed_experiment("ma", {"workers.count=2", "algorithm.local-steps=20"});
  EXPECT_LT(max_relative_difference(trajectory(fedavg), trajectory(ma)), 1e-12);
}

TEST(FedAvg, LocalStepsAreEpochsOfBatches) {
  EXPECT_EQ(fedavg_local_steps(1, 199, 19.9), 10);
  EXPECT_EQ(fedavg_local_steps(3, 100, 32), 12);
  EXPECT_EQ(fedavg_local_steps(1, 5, 32), 1);
}

TEST(FedAvg, SamplesAtLeastOneClientFromTheSeed) {
  EXPECT_EQ(sample_clients(0.01, 10, 1, 1).size(), 1u);
  EXPECT_EQ(sample_clients(0.5, 10, 1, 1).size(), 5u);
  EXPECT_EQ(sample_clients(1.0, 4, 1, 7), (std::vector<int>{0, 1, 2, 3}));
  const auto drawn = sample_clients(0.3, 20, 5, 2);
  EXPECT_TRUE(std::is_sorted(drawn.begin(), drawn.end()));
  EXPECT_EQ(drawn, sample_clients(0.3, 20, 5, 2));
  bool differs = false;
  for (int round = 3; round < 10; ++round) differs = differs || sample_clients(0.3, 20, 5, round) != drawn;
  EXPECT_TRUE(differs);
  EXPECT_NE(sample_clients(0.3, 20, 6, 2), drawn);
}

TEST(FedAvg, OnlyTheDrawnClientsExchangeMessages) {
  TempDir dir;
  const auto scenario = write_star_scenario(dir, R"(<algorithm name="fedavg" eta="0.1" fraction="0.5"/>)");
  const auto result = testutil::run_dmlsim(fmt::format("run {} -q --out {}", scenario.string(), (dir / "out").string()));
  ASSERT_EQ(result.exit_code, 0) << result.out;
  std::istringstream rows(testutil::read_text(dir / "out/rounds.csv"));
  std::string line;
  std::getline(rows, line);
  int round = -1;
  while (std::getline(rows, line)) {
    ++round;
    const auto fields = [&] {
      std::vector<std::string> f;
      std::stringstream ss(line);
      for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
      return f;
    }();
    EXPECT_EQ(std::stoi(fields[6]), 2 * 2 * round) << line;  // two clients, a broadcast and an upload each
  }
  EXPECT_EQ(round, 20);
}

TEST(Backup, NoBackupIsSsgdBitForBit) {
  const auto ssgd = trajectory(seed_experiment("ssgd", {"algorithm.average=batch-means"}));
  const auto backup = trajectory(seed_experiment("ssgd", {"algorithm.name=ssgd-backup", "algorithm.backup=0"}));
  ASSERT_EQ(ssgd.size(), 300u);
  for (std::size_t r = 0; r < ssgd.size(); ++r) ASSERT_EQ(ssgd[r], backup[r]) << "round " << r + 1;
}

TEST(Backup, FirstArrivalsBreakTiesByWorker) {
  EXPECT_EQ(first_arrivals({{2.0, 0}, {1.0, 3}, {1.0, 2}, {3.0, 1}}, 2), (std::vector<int>{2, 3}));
  EXPECT_EQ(first_arrivals({{1.0, 3}, {1.0, 1}, {1.0, 2}}, 2), (std::vector<int>{1, 2}));
}

TEST(Backup, TheStragglersUploadIsDroppedAndTheRoundsShorten) {
  // Worker 3 sits behind a 200 ms link: with one backup worker the server never waits for it, so
  // the run equals the sequential driver's (which drops the highest worker id) and is faster.
  TempDir dir;
  const auto scenario = write_star_scenario(dir, R"(<algorithm name="ssgd-backup" eta="0.1" backup="1"/>)");
  const auto run = testutil::run_dmlsim(
      fmt::format("run {} -q --save-weights --out {}", scenario.string(), (dir / "backup").string()));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto expected = run_sequential(build_experiment(load_scenario(scenario)));
  EXPECT_EQ(read_weights(dir / "backup/weights.csv"), expected);

  const auto ssgd = testutil::run_dmlsim(fmt::format("run {} -q --set algorithm.name=ssgd --out {}", scenario.string(),
                                                     (dir / "ssgd").string()));
  ASSERT_EQ(ssgd.exit_code, 0) << ssgd.out;
  const auto last_time = [&](const std::string& run_dir) {
    const auto text = testutil::read_text(dir / run_dir / "rounds.csv");
    const auto last = text.substr(text.rfind('\n', text.size() - 2) + 1);
    return std::stod(last.substr(last.find(',') + 1));
  };
  // SSGD waits 2 × 200 ms for worker 3 every round; backup rounds take 2 × 5 ms and a bit.
  EXPECT_GT(last_time("ssgd"), 20 * 0.4);
  EXPECT_LT(last_time("backup"), 20 * 0.05);

  const auto rerun = testutil::run_dmlsim(
      fmt::format("run {} -q --save-weights --out {}", scenario.string(), (dir / "again").string()));
  ASSERT_EQ(rerun.exit_code, 0);
  EXPECT_EQ(testutil::read_text(dir / "backup/rounds.csv"), testutil::read_text(dir / "again/rounds.csv"));
}

TEST(BadInput, RoundVariantsRejectWhatCannotRun) {
  TempDir dir;
  const auto check = [&](const std::string& algorithm, const std::string& extra, const std::string& message) {
    const auto scenario = write_star_scenario(dir, algorithm);
    const auto result = testutil::run_dmlsim(
        fmt::format("run {} {} --out {}", scenario.string(), extra, (dir / "never").string()));
    EXPECT_EQ(result.exit_code, 2) << result.out;
    EXPECT_NE(result.out.find("s.xml:7: <algorithm"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find(message), std::string::npos) << result.out;
    EXPECT_FALSE(std::filesystem::exists(dir / "never"));
  };
  check(R"(<algorithm name="ssgd-backup" eta="0.1" backup="4"/>)", "", "must be below the 4 workers");
  check(R"(<algorithm name="ssgd-backup" eta="0.1" backup="-1"/>)", "", "'backup'");
  check(R"(<algorithm name="fedavg" eta="0.1" fraction="0"/>)", "", "out of range (0, 1]");
  check(R"(<algorithm name="fedavg" eta="0.1" fraction="1.5"/>)", "", "out of range (0, 1]");
  check(R"(<algorithm name="fedavg" eta="0.1"/>)", "--set topology.kind=ring-allreduce",
        "fedavg runs only on topology parameter-server");
}
