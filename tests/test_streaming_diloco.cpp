// Streaming DiLoCo: the identity with DiLoCo (sequential driver and simulator, bit for bit), the
// overlap of a fragment's exchange with the next inner steps measured on SimGrid's clock, exact
// bytes of compressed fragments on the star and the ring, and bad input.
#include "experiment/sequential_driver.hpp"
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

using namespace dmlsim;
using namespace dmlsim::testutil;
namespace fs = std::filesystem;

namespace {

Experiment seed_experiment(const std::string& algorithm, std::vector<std::string> sets) {
  std::vector<Override> overrides;
  sets.push_back("algorithm.name=" + algorithm);
  sets.push_back("data.standardize=true");
  sets.push_back("training.rounds=60");
  sets.push_back("algorithm.local-steps=10");
  for (const auto& s : sets) overrides.push_back(parse_override(s));
  return build_experiment(load_scenario(source_dir() / "scenarios/seed/bmuf.xml", overrides));
}

const std::vector<std::string> kDilocoLike = {"algorithm.fragments=1", "algorithm.overlap=0", "algorithm.mix=0"};

std::vector<std::string> with(std::vector<std::string> sets, const std::vector<std::string>& more) {
  sets.insert(sets.end(), more.begin(), more.end());
  return sets;
}

nlohmann::json summary(const fs::path& dir) { return nlohmann::json::parse(read_text(dir / "summary.json")); }

// The bytes_sent column of a run's last rounds.csv row.
std::uint64_t bytes_sent(const fs::path& dir) { return summary(dir)["result"]["bytes_sent"].get<std::uint64_t>(); }

CommandResult run_seed(const std::string& sets, const fs::path& out) {
  return run_dmlsim(fmt::format(
      "run -q scenarios/seed/ma.xml --set algorithm.name=streaming-diloco --set training.rounds=20 {} --out {}", sets,
      out.string()));
}

}  // namespace

TEST(StreamingDiloco, OneFragmentWithoutOverlapOrMixIsDilocoBitForBit) {
  for (const auto& optimisers : std::vector<std::vector<std::string>>{
           {},
           {"algorithm.outer=adam", "algorithm.outer-lr=0.05"},
           {"algorithm.inner=adamw", "algorithm.eta=0.01", "algorithm.weight-decay=0.1", "algorithm.outer=momentum"},
           {"algorithm.inner=momentum", "algorithm.inner-state=reset"}}) {
    const auto diloco = trajectory(seed_experiment("diloco", optimisers));
    const auto streaming = trajectory(seed_experiment("streaming-diloco", with(optimisers, kDilocoLike)));
    ASSERT_EQ(diloco.size(), 60u);
    EXPECT_EQ(max_relative_difference(diloco, streaming), 0.0) << fmt::format("{}", fmt::join(optimisers, " "));
  }
}

TEST(StreamingDiloco, FragmentsOverlapAndMixEachChangeTheTrajectory) {
  const auto base = trajectory(seed_experiment("streaming-diloco", kDilocoLike));
  for (const std::string change : {"algorithm.fragments=2", "algorithm.mix=0.5"}) {
    auto sets = kDilocoLike;
    sets.push_back(change);
    const auto other = trajectory(seed_experiment("streaming-diloco", sets));
    EXPECT_GT(max_relative_difference(base, other), 1e-6) << change;
    EXPECT_GT(seed_experiment("streaming-diloco", sets).evaluate_test(other.back()).accuracy, 0.9) << change;
  }
  const auto overlapped = trajectory(seed_experiment("streaming-diloco", {"algorithm.fragments=2", "algorithm.overlap=3"}));
  const auto no_overlap = trajectory(seed_experiment("streaming-diloco", {"algorithm.fragments=2", "algorithm.overlap=0"}));
  EXPECT_GT(max_relative_difference(overlapped, no_overlap), 1e-6);
}

TEST(StreamingDiloco, ThroughTheSimulatorOnTheStarAndTheRingItIsDiloco) {
  TempDir dir;
  const std::string identity = "--set algorithm.fragments=1 --set algorithm.overlap=0 --set algorithm.mix=0 --save-weights";
  for (const std::string topology : {"parameter-server", "ring-allreduce"}) {
    const auto set_topology = " --set topology.kind=" + topology;
    ASSERT_EQ(run_seed(identity + set_topology, dir / ("s-" + topology)).exit_code, 0);
    ASSERT_EQ(run_seed(identity + set_topology + " --set algorithm.name=diloco", dir / ("d-" + topology)).exit_code, 0);
    EXPECT_EQ(read_text(dir / ("s-" + topology) / "weights.csv"), read_text(dir / ("d-" + topology) / "weights.csv"));
  }
}

// The overlap is SimGrid's: per round, a run without overlap pays compute + communication, one
// whose overlap steps outlast the exchange pays the compute only, and one with a shorter overlap
// pays compute + communication - overlap compute. Per-round costs are differences between runs of
// R and R + 1 rounds (the first round has nothing to overlap with), on the 1B profile with a slow
// WAN link, where a fragment's exchange takes seconds.
TEST(StreamingDiloco, OverlapHidesTheFragmentExchangeOnTheSimulatedClock) {
  TempDir dir;
  for (const std::string topology : {"ring-allreduce", "parameter-server"}) {
    const auto time_of = [&](int overlap, int rounds) {
      const auto out = dir / fmt::format("{}-{}-{}", topology, overlap, rounds);
      const auto result = run_dmlsim(fmt::format(
          "run -q scenarios/large/diloco-1b.xml --set algorithm.name=streaming-diloco --set algorithm.fragments=4 "
          "--set algorithm.overlap={} --set training.rounds={} --set topology.kind={} --set server.host=dc-a-3 "
          "--link 'wan-*:bandwidth=1Gbps' --out {}",
          overlap, rounds, topology, out.string()));
      EXPECT_EQ(result.exit_code, 0) << result.out;
      const auto j = summary(out);
      return std::pair<double, double>{j["result"]["sim_time"].get<double>(),
                                       j["time_breakdown"]["workers"][0]["compute_time"].get<double>() / rounds};
    };
    const auto [t0_r, compute] = time_of(0, 4);
    const double step = compute / 25;  // a round is H / P = 25 inner steps
    const double serial = time_of(0, 5).first - t0_r;
    const double exchange = serial - compute;
    ASSERT_GT(exchange, 2 * step) << topology << ": the exchange must be long enough to hide";
    const int hides = static_cast<int>(exchange / step) + 1;  // overlap steps that outlast the exchange
    ASSERT_LT(hides, 25);
    EXPECT_NEAR(time_of(hides, 5).first - time_of(hides, 4).first, compute, 1e-9 * compute) << topology;
    EXPECT_NEAR(time_of(hides, 5).second, compute, 1e-9 * compute) << topology << ": overlap steps are compute time";
    EXPECT_NEAR(time_of(2, 5).first - time_of(2, 4).first, compute + exchange - 2 * step, 1e-9 * compute) << topology;
    // The whole run: the R - 1 exchanges after the first one are hidden.
    EXPECT_NEAR(time_of(0, 5).first - time_of(hides, 5).first, 4 * exchange, 1e-6 * compute) << topology;
  }
}

// Compressed fragments: bytes per message are the fragment's payload (fp4: two values per byte and
// a scale; top-k: its share of k values with 32-bit indices) plus the header. 31 parameters in
// three fragments of 11, 10 and 10; rounds of 2 steps, fragment (r - 1) mod 3 in round r.
TEST(StreamingDiloco, CompressedFragmentsHaveExactBytesOnTheStarAndTheRing) {
  TempDir dir;
  const int workers = 4, rounds = 20;
  const std::string shape = "--set algorithm.local-steps=6 --set algorithm.fragments=3 --set algorithm.overlap=1";
  const std::vector<std::uint64_t> sizes = {11, 10, 10};
  struct Case {
    std::string sets;
    std::function<std::uint64_t(std::uint64_t)> payload;
  };
  const std::vector<Case> cases = {
      {"--set compression.format=fp4", [](std::uint64_t n) { return (n * 4 + 7) / 8 + 4; }},
      {"--set compression.format=int8 --set compression.sparsify=top-k --set compression.k=7",
       [](std::uint64_t n) { return (7 * n + 30) / 31 * 5 + 4; }}};
  for (const auto& c : cases) {
    ASSERT_EQ(run_seed(shape + " " + c.sets, dir / "ps").exit_code, 0);
    // The star: the whole initial vector once, then each round's upload and the returned fragment.
    std::uint64_t expected = workers * (c.payload(31) + 64);
    for (int r = 1; r <= rounds; ++r) expected += workers * (c.payload(sizes[(r - 1) % 3]) + 64);
    for (int r = 2; r <= rounds; ++r) expected += workers * (c.payload(sizes[(r - 2) % 3]) + 64);
    EXPECT_EQ(bytes_sent(dir / "ps"), expected) << c.sets;

    // The ring: every chunk of the fragment travels 2(K - 1) times a round.
    ASSERT_EQ(run_seed(shape + " " + c.sets + " --set topology.kind=ring-allreduce", dir / "ring").exit_code, 0);
    expected = 0;
    for (int r = 1; r <= rounds; ++r) {
      const auto fragment = sizes[(r - 1) % 3];
      for (int chunk = 0; chunk < workers; ++chunk) {
        const auto chunk_size = fragment / workers + (static_cast<std::uint64_t>(chunk) < fragment % workers ? 1 : 0);
        expected += 2 * (workers - 1) * (c.payload(chunk_size) + 64);
      }
    }
    EXPECT_EQ(bytes_sent(dir / "ring"), expected) << c.sets;
    fs::remove_all(dir / "ps");
    fs::remove_all(dir / "ring");
  }
}

TEST(StreamingDiloco, LossyFragmentsChangeTheModelLosslessOnesDoNot) {
  const auto plain = trajectory(seed_experiment("streaming-diloco", {"algorithm.fragments=2"}));
  EXPECT_EQ(max_relative_difference(
                plain, trajectory(seed_experiment("streaming-diloco", {"algorithm.fragments=2", "compression.format=fp64",
                                                                       "compression.sparsify=top-k", "compression.k=31"}))),
            0.0);
  for (const std::string format : {"int8", "fp4"}) {
    const auto e = seed_experiment("streaming-diloco", {"algorithm.fragments=2", "compression.format=" + format});
    const auto lossy = trajectory(e);
    EXPECT_GT(max_relative_difference(plain, lossy), 1e-6) << format;
    EXPECT_GT(e.evaluate_test(lossy.back()).accuracy, 0.9) << format;
  }
}

TEST(StreamingDiloco, RerunsAreByteIdenticalAndTheBareBaselineSendsTheSameBytes) {
  TempDir dir;
  const std::string sets = "--set algorithm.local-steps=6 --set algorithm.fragments=3 --set algorithm.overlap=1 "
                           "--set topology.kind=ring-allreduce --set compression.format=fp4";
  ASSERT_EQ(run_seed(sets, dir / "a").exit_code, 0);
  ASSERT_EQ(run_seed(sets, dir / "b").exit_code, 0);
  ASSERT_EQ(run_seed(sets + " --bare", dir / "bare").exit_code, 0);
  EXPECT_EQ(read_text(dir / "a/rounds.csv"), read_text(dir / "b/rounds.csv"));
  EXPECT_EQ(bytes_sent(dir / "a"), bytes_sent(dir / "bare"));
  EXPECT_NEAR(summary(dir / "a")["result"]["sim_time"].get<double>(),
              summary(dir / "bare")["result"]["sim_time"].get<double>(), 1e-3);
}

TEST(StreamingDiloco, BadScheduleOrTopologyGivesExitTwoAndWritesNothing) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--set algorithm.fragments=3", "P = 3 must divide local-steps H = 5"},
      {"--set algorithm.local-steps=10 --set algorithm.fragments=2 --set algorithm.overlap=5",
       "tau = 5 must be below H / P = 5"},
      {"--set algorithm.fragments=0", "out of range"},
      {"--set algorithm.overlap=-1", "not a non-negative integer"},
      {"--set algorithm.mix=1.5", "out of range"},
      {"--set algorithm.local-steps=32 --set algorithm.fragments=32 --set algorithm.overlap=0",
       "32 fragments, but the model has only 31 parameters"},
      {"--set topology.kind=tree", "streaming-diloco runs only on topology parameter-server, ring-allreduce"}};
  for (const auto& [sets, message] : cases) {
    const auto result = run_seed(sets, dir / "out");
    EXPECT_EQ(result.exit_code, 2) << sets << "\n" << result.out;
    EXPECT_NE(result.out.find(message), std::string::npos) << sets << "\n" << result.out;
    EXPECT_NE(result.out.find("scenarios/seed/ma.xml:"), std::string::npos) << result.out;
    EXPECT_FALSE(fs::exists(dir / "out")) << sets;
  }
}

TEST(Readme, StreamingDilocoUtilisationOnTheLargeProfileAsTheReadmeShowsIt) {
  TempDir dir;
  const std::string streaming = "--set algorithm.name=streaming-diloco --set algorithm.fragments=4 --set training.rounds=20 ";
  // (options, utilisation in % to one decimal) and sim time to one decimal of the README's table.
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"--set training.rounds=5", "70.0"},
      {streaming + "--set algorithm.overlap=0", "69.9"},
      {streaming + "--set algorithm.overlap=10", "95.1"},
      {streaming + "--set algorithm.overlap=20", "97.9"},
      {streaming + "--set algorithm.overlap=20 --set compression.format=fp4", "99.4"}};
  const std::vector<std::string> times = {"280.8", "281.4", "206.7", "200.8", "197.7"};
  const auto readme = read_text(source_dir() / "README.md");
  expect_utilisation(dir.path(), "scenarios/large/diloco-1b.xml --link 'wan-*:bandwidth=1Gbps'", rows,
                     [&](std::size_t row, const nlohmann::json& j) {
                       const auto& [options, percent] = rows[row];
                       EXPECT_EQ(fmt::format("{:.1f}", j["result"]["sim_time"].get<double>()), times[row]) << options;
                       EXPECT_NE(readme.find(fmt::format("| {} | {} % |", times[row], percent)), std::string::npos)
                           << options;
                     });
}

TEST(Readme, WanStreamingDilocoExampleIsWhatTheShippedScenarioProduces) {
  TempDir dir;
  // (extra --set, time to 0.95 as printed, round, bytes) as the README quotes them.
  expect_target_lines(dir.path(), "scenarios/wan/streaming-diloco.xml",
                      {{"", "4.64328", 32, 33024},
                       {"--set compression.format=int8", "4.64325", 32, 19488},
                       {"--set compression.format=fp4", "6.09426", 42, 24240}});
}

TEST(Readme, LargeProfileUnderOneLinuxTcpConnectionAsTheReadmeShowsIt) {
  TempDir dir;
  const std::string dp = "--set algorithm.local-steps=1 --set algorithm.outer=sgd --set algorithm.outer-lr=1 ";
  const std::string streaming =
      "--set algorithm.name=streaming-diloco --set algorithm.fragments=4 --set algorithm.overlap=20 --set training.rounds=20 ";
  // (WAN bandwidth and options, utilisation in % to one decimal) of the README's linux-tcp table.
  const auto wan = [](const std::string& bandwidth) { return "--link 'wan-*:bandwidth=" + bandwidth + "' "; };
  expect_utilisation(dir.path(), "scenarios/large/diloco-1b.xml --network-profile linux-tcp",
                     {{wan("1Gbps") + dp, "1.3"},
                      {wan("10Gbps") + dp, "1.3"},
                      {wan("100Gbps") + dp, "1.3"},
                      {wan("1Gbps"), "55.8"},
                      {wan("10Gbps"), "56.2"},
                      {wan("100Gbps"), "56.2"},
                      {wan("10Gbps") + "--set compression.format=fp4", "83.3"},
                      {wan("10Gbps") + streaming, "96.3"},
                      {wan("10Gbps") + streaming + "--set compression.format=fp4", "98.9"}});
}

TEST(Study, FashionMnistCompressionStudyExpandsToItsEightyRuns) {
  TempDir dir;
  const auto listed = run_dmlsim(fmt::format("sweep scenarios/studies/fmnist-compression.xml --list --out {}", (dir / "r").string()));
  ASSERT_EQ(listed.exit_code, 0) << listed.out;
  std::size_t runs = 0;
  for (auto at = listed.out.find("dmlsim' run "); at != std::string::npos; at = listed.out.find("dmlsim' run ", at + 1)) ++runs;
  EXPECT_EQ(runs, 80u) << listed.out;  // 4 algorithms × 4 payloads × 5 seeds
  EXPECT_NE(listed.out.find("algorithm-streaming-diloco_rounds-100_eval-every-4_payload-top-k"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("algorithm-bmuf_rounds-100_eval-every-4_payload-int8"), std::string::npos) << listed.out;
}
