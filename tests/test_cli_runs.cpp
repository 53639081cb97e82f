// End-to-end: the dmlsim binary on shipped scenarios and on deliberately broken ones.
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace dmlsim::testutil;
namespace fs = std::filesystem;

namespace {

nlohmann::json summary(const fs::path& dir) { return nlohmann::json::parse(read_text(dir / "summary.json")); }

std::vector<double> weights(const fs::path& dir) {
  std::istringstream in(read_text(dir / "weights.csv"));
  std::string line;
  std::getline(in, line);  // header
  std::vector<double> values;
  while (std::getline(in, line)) values.push_back(std::stod(line.substr(line.find(',') + 1)));
  return values;
}

void expect_bad_input(const std::string& args, const std::string& message) {
  TempDir out;
  const auto result = run_dmlsim(args + " -q --out " + (out / "run").string());
  EXPECT_EQ(result.exit_code, 2) << result.out;
  EXPECT_NE(result.out.find(message), std::string::npos) << "expected '" << message << "' in:\n" << result.out;
  EXPECT_FALSE(fs::exists(out / "run")) << "a failed run must write nothing";
}

// Column `index` (0-based) of every data row of a CSV file.
std::vector<std::string> csv_column(const fs::path& file, std::size_t index) {
  std::istringstream in(read_text(file));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> values;
  while (std::getline(in, line)) {
    std::istringstream cells(line);
    std::string cell;
    for (std::size_t i = 0; i <= index; ++i) std::getline(cells, cell, ',');
    values.push_back(cell);
  }
  return values;
}

// The shipped WAN SSGD scenario with absolute paths (so it can live in a temp dir) and `links`
// inside its <platform> element.
std::string relocated_wan_scenario(const std::string& links) {
  std::string text = read_text(source_dir() / "scenarios/wan/ssgd.xml");
  const auto replace = [&](const std::string& from, const std::string& to) { text.replace(text.find(from), from.size(), to); };
  replace("../../platforms/wan-geo.xml\"/>", (source_dir() / "platforms/wan-geo.xml").string() + "\">" + links + "</platform>");
  replace("../../data/breast_cancer_seed_train.csv", (source_dir() / "data/breast_cancer_seed_train.csv").string());
  replace("../../data/breast_cancer_seed_test.csv", (source_dir() / "data/breast_cancer_seed_test.csv").string());
  return text;
}

}  // namespace

TEST(Run, SeedScenarioWritesItsFilesAndSummary) {
  TempDir out;
  const auto result = run_dmlsim("run scenarios/seed/ma.xml --save-weights --out " + (out / "ma").string());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  for (const auto* needle : {"algorithm    ma", "network      CM02", "profile linux-tcp", "rounds       300 of 300",
                             "final        test accuracy"})
    EXPECT_NE(result.out.find(needle), std::string::npos) << needle;
  const auto s = summary(out / "ma");
  EXPECT_EQ(s["algorithm"]["name"], "ma");
  // The shipped scenarios run on the TCP connection model, and say so.
  EXPECT_EQ(s["network"]["model"], "CM02");
  EXPECT_NE(s["network"]["description"].get<std::string>().find("TCP connection model"), std::string::npos);
  EXPECT_NE(s["network"]["description"].get<std::string>().find("profile linux-tcp"), std::string::npos);
  EXPECT_EQ(s["result"]["rounds"], 300);
  EXPECT_EQ(s["training"]["message_bytes"], 31 * 8 + 64);
  EXPECT_GT(s["result"]["sim_time"].get<double>(), 0.0);
  EXPECT_EQ(s["time_to_accuracy"]["targets"].size(), 4u);
  EXPECT_EQ(weights(out / "ma").size(), 31u);
  // 301 evaluations (round 0 and every round) plus the header.
  const auto csv = read_text(out / "ma" / "rounds.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 302);
  // 2 messages per worker per round.
  EXPECT_EQ(s["result"]["messages_sent"], 300 * 4 * 2);
}

TEST(Run, SameScenarioAndSeedGiveByteIdenticalRounds) {
  TempDir out;
  for (const char* run : {"a", "b"})
    ASSERT_EQ(run_dmlsim(fmt::format("run scenarios/seed/easgd.xml -q --out {}", (out / run).string())).exit_code, 0);
  EXPECT_EQ(read_text(out / "a" / "rounds.csv"), read_text(out / "b" / "rounds.csv"));
  ASSERT_EQ(run_dmlsim(fmt::format("run scenarios/seed/easgd.xml -q --set scenario.seed=2 --out {}", (out / "c").string())).exit_code, 0);
  EXPECT_NE(read_text(out / "a" / "rounds.csv"), read_text(out / "c" / "rounds.csv"));
}

TEST(Run, MaWithOneLocalStepEqualsSsgdThroughTheSimulator) {
  TempDir out;
  ASSERT_EQ(run_dmlsim("run scenarios/seed/ssgd.xml -q --save-weights --set algorithm.average=batch-means "
                       "--set batch.resample=step --out " + (out / "ssgd").string()).exit_code, 0);
  ASSERT_EQ(run_dmlsim("run scenarios/seed/ma.xml -q --save-weights --set algorithm.local-steps=1 "
                       "--set batch.resample=step --out " + (out / "ma").string()).exit_code, 0);
  const auto a = weights(out / "ssgd");
  const auto b = weights(out / "ma");
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-12 * std::max(std::abs(a[i]), 1e-300));
}

TEST(Run, WanTimeExceedsLanTimeByTheAddedLatency) {
  TempDir out;
  // CM02 arithmetic (latency + size/bandwidth), pinned: whatever the shipped scenarios' default.
  ASSERT_EQ(run_dmlsim("run scenarios/seed/ssgd.xml -q --network-profile cm02 --set training.rounds=50 --out " + (out / "lan").string()).exit_code, 0);
  ASSERT_EQ(run_dmlsim("run scenarios/seed/ssgd.xml -q --network-profile cm02 --set training.rounds=50 --set platform.file=../../platforms/wan-geo.xml "
                       "--set server.host=us-east-0 --set workers.placement=zones --out " + (out / "wan").string()).exit_code, 0);
  const double lan = summary(out / "lan")["result"]["sim_time"];
  const double wan = summary(out / "wan")["result"]["sim_time"];
  // The slowest worker sits in ap-northeast: each round crosses the 72.5 ms link twice, instead
  // of the LAN's 45 us route (20 + 5 + 20 us); transfer times of 312 bytes differ by microseconds.
  const double expected = 50 * 2 * ((0.0725 + 0.000050) - 0.000045);
  EXPECT_NEAR(wan - lan, expected, 0.001 * expected) << "lan " << lan << " wan " << wan;
  const auto hosts = summary(out / "wan")["workers"]["hosts"];
  EXPECT_EQ(hosts[0], "us-east-1");
  EXPECT_EQ(hosts[1], "eu-west-0");
  EXPECT_EQ(hosts[2], "ap-northeast-0");
  EXPECT_EQ(hosts[3], "us-east-2");
}

TEST(Run, LinkOverridesChangeTheTime) {
  TempDir out;
  const std::string text = relocated_wan_scenario(R"(<link pattern="wan-*" latency="1ms"/>)");
  write_text(out / "fast.xml", text);
  // CM02 arithmetic, pinned: whatever the shipped scenarios' default.
  ASSERT_EQ(run_dmlsim("run scenarios/wan/ssgd.xml -q --network-profile cm02 --set training.rounds=20 --out " + (out / "base").string()).exit_code, 0);
  const auto result = run_dmlsim("run " + (out / "fast.xml").string() + " -q --network-profile cm02 --set training.rounds=20 --out " + (out / "fast").string());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  const double base = summary(out / "base")["result"]["sim_time"];
  const double fast = summary(out / "fast")["result"]["sim_time"];
  EXPECT_NEAR(base - fast, 20 * 2 * (0.0725 - 0.001), 1e-4);
  EXPECT_EQ(summary(out / "fast")["platform"]["link_overrides"][0], "wan-* (6 links): latency 0.001 s");
  // The same through the command line.
  ASSERT_EQ(run_dmlsim("run scenarios/wan/ssgd.xml -q --network-profile cm02 --set training.rounds=20 --link 'wan-*:latency=1ms' --out " +
                       (out / "cli").string()).exit_code, 0);
  EXPECT_EQ(read_text(out / "cli" / "rounds.csv"), read_text(out / "fast" / "rounds.csv"));
}

TEST(Run, StopRules) {
  TempDir out;
  ASSERT_EQ(run_dmlsim("run scenarios/seed/bmuf.xml -q --set stop.target-accuracy=0.9 --out " + (out / "t").string()).exit_code, 0);
  const auto t = summary(out / "t");
  EXPECT_EQ(t["result"]["stop_reason"], "target-accuracy");
  EXPECT_GE(t["result"]["final_accuracy"].get<double>(), 0.9);
  EXPECT_LT(t["result"]["rounds"].get<int>(), 300);
  ASSERT_EQ(run_dmlsim("run scenarios/seed/ma.xml -q --set stop.max-time=5ms --out " + (out / "m").string()).exit_code, 0);
  const auto m = summary(out / "m");
  EXPECT_EQ(m["result"]["stop_reason"], "max-time");
  EXPECT_GE(m["result"]["sim_time"].get<double>(), 0.005);
  EXPECT_LT(m["result"]["sim_time"].get<double>(), 0.0052);
}

TEST(Run, EvaluationEveryNRoundsAndChargedEvaluation) {
  TempDir out;
  ASSERT_EQ(run_dmlsim("run scenarios/seed/ma.xml -q --set training.eval-every=10 --out " + (out / "e").string()).exit_code, 0);
  const auto csv = read_text(out / "e" / "rounds.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 31);
  ASSERT_EQ(run_dmlsim("run scenarios/seed/ma.xml -q --out " + (out / "free").string()).exit_code, 0);
  ASSERT_EQ(run_dmlsim("run scenarios/seed/ma.xml -q --set training.charge-eval=true --out " + (out / "charged").string()).exit_code, 0);
  const double free_time = summary(out / "free")["result"]["sim_time"];
  const double charged = summary(out / "charged")["result"]["sim_time"];
  // 301 evaluations of 569 rows at 2·31 FLOPs on a 20 GFLOP/s host.
  EXPECT_NEAR(charged - free_time, 301 * 569 * 62 / 20e9, 1e-9);
}

TEST(Run, NetworkModelFromTheCommandLineIsRecorded) {
  TempDir out;
  const auto result = run_dmlsim("run scenarios/seed/ma.xml --set training.rounds=5 --cfg network/model:LV08 --out " + (out / "lv").string());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("network      LV08"), std::string::npos);
  EXPECT_EQ(summary(out / "lv")["network"]["config"]["network/model"], "LV08");
}

TEST(Run, Ns3NetworkModelIsSelectableAndSlowerOnTheWan) {
  TempDir out;
  ASSERT_EQ(run_dmlsim("run scenarios/wan/ma.xml -q --set training.rounds=3 --set network.model=ns-3 --out " + (out / "ns3").string()).exit_code, 0);
  ASSERT_EQ(run_dmlsim("run scenarios/wan/ma.xml -q --set training.rounds=3 --network-profile cm02 --out " + (out / "cm02").string()).exit_code, 0);
  EXPECT_EQ(summary(out / "ns3")["network"]["model"], "ns-3");
  // ns-3 simulates TCP packet by packet (handshake, slow start): slower than CM02's latency + size/bandwidth.
  EXPECT_GT(summary(out / "ns3")["result"]["sim_time"].get<double>(), summary(out / "cm02")["result"]["sim_time"].get<double>());
}

TEST(Run, LinuxTcpProfileChargesSlowStartOnTheWan) {
  // 1 MB messages (125,000 float64 parameters) across 40-110 ms links: Linux TCP needs several
  // round trips to open its window, which CM02's latency + size/bandwidth leaves out.
  TempDir out;
  const std::string base = "run scenarios/wan/ma.xml -q --set training.rounds=3 --set model.sim-parameters=125000 --set model.sim-forward-flops=250000 ";
  ASSERT_EQ(run_dmlsim(base + "--out " + (out / "tcp").string()).exit_code, 0);
  ASSERT_EQ(run_dmlsim(base + "--network-profile cm02 --out " + (out / "cm02").string()).exit_code, 0);
  const double tcp = summary(out / "tcp")["result"]["sim_time"];
  const double cm02 = summary(out / "cm02")["result"]["sim_time"];
  EXPECT_GT(tcp, 1.3 * cm02) << "linux-tcp " << tcp << " s, cm02 " << cm02 << " s";
  EXPECT_NE(summary(out / "tcp")["network"]["description"].get<std::string>().find("profile linux-tcp"), std::string::npos);
}

TEST(Validate, ChecksWithoutRunning) {
  const auto result = run_dmlsim("validate scenarios/wan/bmuf.xml");
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("valid"), std::string::npos);
  const auto bad = run_dmlsim("validate scenarios/seed/ma.xml --set server.host=nowhere");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("host 'nowhere' is not in platform"), std::string::npos) << bad.out;
}

TEST(Run, HyperParametersKeepTheirTypesInHeaderAndSummary) {
  TempDir out;
  const auto result = run_dmlsim("run scenarios/seed/bmuf.xml --set algorithm.eta=0.05 --set algorithm.local-steps=2 --out " +
                                 (out / "b").string());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("algorithm    bmuf (eta=0.05, local-steps=2, mu=0.9, zeta=0.1, momentum=classical"),
            std::string::npos) << result.out;
  const auto a = summary(out / "b")["algorithm"];
  EXPECT_EQ(a["name"], "bmuf");
  EXPECT_TRUE(a["eta"].is_number_float());
  EXPECT_EQ(a["eta"].get<double>(), 0.05);
  EXPECT_TRUE(a["local-steps"].is_number_integer());
  EXPECT_EQ(a["local-steps"].get<int>(), 2);
  EXPECT_EQ(a["momentum"], "classical");
  const auto validate = run_dmlsim("validate scenarios/wan/easgd.xml --set algorithm.tau=3");
  EXPECT_EQ(validate.exit_code, 0) << validate.out;
  EXPECT_NE(validate.out.find("algorithm    easgd (eta=0.1, rho=0.1, tau=3, "), std::string::npos) << validate.out;
}

TEST(Algorithms, ListsEveryAttributeAndTheReadmeShowsTheRegistry) {
  const auto text = run_dmlsim("algorithms");
  ASSERT_EQ(text.exit_code, 0) << text.out;
  for (const auto* needle : {"ssgd: synchronous SGD", "ma: model averaging", "bmuf: ", "easgd: ", "local-steps  integer",
                             "default 5", "[1, 1048576]", "mu           real", "[0, 1)", "nesterov", "required"})
    EXPECT_NE(text.out.find(needle), std::string::npos) << needle << " in\n" << text.out;
  const auto markdown = run_dmlsim("algorithms --markdown");
  ASSERT_EQ(markdown.exit_code, 0) << markdown.out;
  EXPECT_NE(markdown.out.find("| | `mu` | real | `0.9` | `[0, 1)` | block momentum |"), std::string::npos) << markdown.out;
  EXPECT_NE(read_text(source_dir() / "README.md").find(markdown.out), std::string::npos)
      << "README's algorithm attribute table differs from `dmlsim algorithms --markdown`";
}

TEST(BadInput, EachClassGivesOneMessageAndExitCodeTwo) {
  expect_bad_input("run scenarios/seed/ma.xml --set algorithm.bogus=1",
                   "scenarios/seed/ma.xml:18: <algorithm> attribute 'bogus' (set on the command line: --set algorithm.bogus): "
                   "unknown attribute (ma takes: eta, local-steps)");
  expect_bad_input("run scenarios/seed/bmuf.xml --set algorithm.mu=1", "'mu' (set on the command line: --set algorithm.mu): 1 is out of range [0, 1)");
  expect_bad_input("run scenarios/seed/ma.xml --set server.host=node-999",
                   "scenarios/seed/ma.xml:17: <server> attribute 'host': host 'node-999' is not in platform");
  expect_bad_input("run scenarios/seed/ma.xml --set workers.pattern=gpu-*", "'gpu-*' matches no host");
  expect_bad_input("run scenarios/seed/ma.xml --set algorithm.eta=abc", "'eta' (set on the command line: --set algorithm.eta): 'abc' does not start with a number");
  expect_bad_input("run scenarios/seed/ma.xml --set algorithm.tau=2.5", "'2.5' is not a non-negative integer");
  expect_bad_input("run scenarios/seed/ma.xml --set training.bytes-per-param=2", "must be 4 or 8");
  expect_bad_input("run scenarios/seed/ma.xml --set workers.count=1000", "exceeds the 398 training rows");
  expect_bad_input("run scenarios/seed/ma.xml --set data.label=nothing", "no column named 'nothing'");
  expect_bad_input("run scenarios/seed/ma.xml --set network.model=LV09", "'LV09' is not one of");
  expect_bad_input("run scenarios/seed/ma.xml --cfg network/no-such-option:1", "network/no-such-option");
  expect_bad_input("run scenarios/seed/ma.xml --set bogus", "expected ELEMENT.ATTRIBUTE=VALUE");
  expect_bad_input("run no/such/scenario.xml", "no/such/scenario.xml: cannot read the scenario file");
  expect_bad_input("run scenarios/wan/ma.xml --set algorithm.eta=0.1 --set scenario.name=x --set platform.file=../../data/README.md",
                   "malformed platform XML");
  TempDir dir;
  write_text(dir / "nolink.xml", relocated_wan_scenario(R"(<link pattern="gpu-*" latency="1ms"/>)"));
  expect_bad_input("run " + (dir / "nolink.xml").string(), "nolink.xml:13: <link> attribute 'pattern': 'gpu-*' matches no link");
  write_text(dir / "badlink.xml", relocated_wan_scenario(R"(<link pattern="wan-*" latency="fast"/>)"));
  expect_bad_input("run " + (dir / "badlink.xml").string(), "<link> attribute 'latency': 'fast' does not start with a number");
  expect_bad_input("run scenarios/wan/ma.xml --link 'gpu-*:latency=1ms'", "command line: --link gpu-*:latency=1ms: 'gpu-*' matches no link");
  expect_bad_input("run scenarios/wan/ma.xml --link 'wan-*:latency=soon'", "--link wan-*:latency=soon: 'soon' does not start with a number");
  expect_bad_input("run scenarios/wan/ma.xml --link 'wan-*'", "expected PATTERN:latency=TIME");
  const auto unknown = run_dmlsim("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.out.find("A subcommand is required"), std::string::npos) << unknown.out;
}

TEST(BadInput, DivergingModelStopsWithAClearMessage) {
  TempDir out;
  const auto result = run_dmlsim("run scenarios/seed/ssgd.xml -q --set algorithm.eta=1e306 --out " + (out / "d").string());
  EXPECT_EQ(result.exit_code, 3) << result.out;
  EXPECT_NE(result.out.find("scenarios/seed/ssgd.xml: the model diverged at round"), std::string::npos) << result.out;
  EXPECT_FALSE(fs::exists(out / "d"));
}

TEST(Workloads, FashionMnistMlpRunsWithLabelSkewAndWritesTheHistogram) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir out;
  const auto result = run_dmlsim("run scenarios/fmnist/lan-ssgd.xml --set data.train-rows=4000 --set data.test-rows=500 "
                                 "--set training.rounds=30 --set training.eval-every=10 --set workers.partition=dirichlet "
                                 "--set workers.dirichlet-alpha=0.5 --out " + (out / "f").string());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  const auto s = summary(out / "f");
  EXPECT_EQ(s["model"]["type"], "mlp");
  EXPECT_EQ(s["model"]["parameters"], 784 * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ(s["workers"]["partition"], "dirichlet (alpha 0.5)");
  EXPECT_GT(s["result"]["final_accuracy"].get<double>(), 0.3);  // 30 rounds: well above chance (0.1)
  const auto histogram = read_text(out / "f" / "partitions.csv");
  EXPECT_EQ(histogram.substr(0, histogram.find('\n')), "worker,rows,class_0,class_1,class_2,class_3,class_4,class_5,class_6,class_7,class_8,class_9");
  EXPECT_EQ(std::count(histogram.begin(), histogram.end(), '\n'), 1 + s["workers"]["count"].get<int>());
}

TEST(Workloads, ModelProfileSetsMessageSizeAndComputeTime) {
  TempDir out;
  // The seed's logistic model trains; the simulated messages and FLOPs are ResNet-50's.
  const auto result = run_dmlsim("run scenarios/seed/ma.xml --set training.rounds=3 --set model.sim-parameters=25.6e6 "
                                 "--set model.sim-forward-flops=4.1e9 --set training.bytes-per-param=4 --out " + (out / "p").string());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("simulated as a profile: 2.56e+07 parameters"), std::string::npos) << result.out;
  const auto s = summary(out / "p");
  EXPECT_EQ(s["training"]["message_bytes"], 25600000 * 4 + 64);
  EXPECT_EQ(s["model"]["profile"]["simulated_parameters"], 25.6e6);
  EXPECT_EQ(s["model"]["gradient_flops_per_sample"], 3 * 4.1e9);
  // Each round: MA's 5 local steps on ~10 samples at 12.3 GFLOP each on a 20 GFLOP/s host, and
  // 102.4 MB down and up over 10 Gbit/s links (the server's link carries 4 copies down).
  const double sim_time = s["result"]["sim_time"];
  EXPECT_GT(sim_time, 3 * (5 * 5 * 12.3e9 / 20e9));
  const auto plain = run_dmlsim("run scenarios/seed/ma.xml -q --set training.rounds=3 --out " + (out / "plain").string());
  ASSERT_EQ(plain.exit_code, 0);
  // Accuracy comes from the real model: the profile changes time, never the training.
  EXPECT_EQ(csv_column(out / "p" / "rounds.csv", 2), csv_column(out / "plain" / "rounds.csv", 2));
  EXPECT_NE(csv_column(out / "p" / "rounds.csv", 1), csv_column(out / "plain" / "rounds.csv", 1));
}

TEST(Workloads, FashionMnistMlpWithSsgdOnTheLanReaches085) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  TempDir out;
  const auto result = run_dmlsim("run scenarios/fmnist/lan-ssgd.xml -q --out " + (out / "f").string());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_GE(summary(out / "f")["result"]["final_accuracy"].get<double>(), 0.85);
}
