// End-to-end: the dmlsim binary on shipped scenarios and on deliberately broken ones.
#include "test_util.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <sys/resource.h>

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

TEST(Outputs, ARunReplacesItsDirectoryWholeAndCleansStaleTemporaries) {
  TempDir out;
  const auto dir = out / "ma";
  ASSERT_EQ(run_dmlsim("run scenarios/seed/ma.xml -q --save-weights --out " + dir.string()).exit_code, 0);
  write_text(dir / "accuracy.png", "a figure of the previous run");
  write_text(out / ".ma.tmp.999999999", "");  // left by a killed run (no such pid)
  fs::create_directory(out / ".ma.tmp.999999998");
  write_text(out / ".ma.tmp.999999998" / "rounds.csv", "half");
  const auto again = run_dmlsim("run scenarios/seed/ma.xml -q --set training.rounds=3 --out " + dir.string());
  ASSERT_EQ(again.exit_code, 0) << again.out;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"partitions.csv", "rounds.csv", "summary.json"}));
  EXPECT_EQ(summary(dir)["result"]["rounds"], 3);
  std::vector<std::string> siblings;
  for (const auto& entry : fs::directory_iterator(out.path())) siblings.push_back(entry.path().filename().string());
  EXPECT_EQ(siblings, std::vector<std::string>{"ma"});
}

TEST(Outputs, BareRunsWithoutOutLeaveTheRealResultsAlone) {
  TempDir out;
  const auto dir = out / "ma";
  ASSERT_EQ(run_dmlsim("run scenarios/seed/ma.xml -q --out " + dir.string()).exit_code, 0);
  const auto rounds = read_text(dir / "rounds.csv");
  const auto bare = run_dmlsim("run scenarios/seed/ma.xml -q --bare --set output.dir=" + dir.string());
  ASSERT_EQ(bare.exit_code, 0) << bare.out;
  EXPECT_EQ(read_text(dir / "rounds.csv"), rounds);
  EXPECT_TRUE(fs::exists(out / "ma-bare" / "summary.json"));
}

TEST(Outputs, ADirectoryThatHoldsNoResultsIsNeverReplaced) {
  TempDir out;
  write_text(out / "notes.txt", "precious");
  const auto result = run_dmlsim("run scenarios/seed/ma.xml -q --out " + out.path().string());
  EXPECT_EQ(result.exit_code, 2) << result.out;
  EXPECT_NE(result.out.find("exists and holds no dmlsim results"), std::string::npos) << result.out;
  EXPECT_EQ(read_text(out / "notes.txt"), "precious");
}

TEST(Outputs, AFullDiskIsReportedAndLeavesNothing) {
  TempDir out;
  const auto disk = out / "disk";
  fs::create_directory(disk);
  // A 16 KiB file system in a private mount namespace: needs root (CI runs as root); skipped elsewhere.
  const auto result = run_dmlsim(fmt::format("--version && unshare -m sh -c 'mount -t tmpfs -o size=16k tmpfs {0} && "
                                             "{1} run scenarios/seed/ma.xml -q --out {0}/ma; rc=$?; echo left:; ls -A {0}; exit $rc' 2>&1",
                                             disk.string(), DMLSIM_BINARY));
  if (result.out.find("mount:") != std::string::npos || result.out.find("unshare:") != std::string::npos)
    GTEST_SKIP() << "cannot mount a small file system here: " << result.out;
  EXPECT_EQ(result.exit_code, 3) << result.out;
  EXPECT_NE(result.out.find("No space left on device"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.substr(result.out.find("left:")), "left:\n") << result.out;
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
  ASSERT_EQ(run_dmlsim("run scenarios/seed/ssgd.xml -q --network-profile cm02 --set training.rounds=50 --set platform.file=platforms/wan-geo.xml "
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
  for (const auto* needle : {"ssgd: synchronous SGD", "ma: model averaging", "bmuf: ", "easgd: ", "default 5",
                             "[1, 1048576]", "[0, 1)", "nesterov", "required"})
    EXPECT_NE(text.out.find(needle), std::string::npos) << needle << " in\n" << text.out;
  // Columns are as wide as the longest attribute name of any algorithm.
  for (const auto* pattern : {"\n  local-steps +integer ", "\n  mu +real "})
    EXPECT_TRUE(std::regex_search(text.out, std::regex(pattern))) << pattern << " in\n" << text.out;
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
  expect_bad_input("run scenarios/wan/ma.xml --set algorithm.eta=0.1 --set scenario.name=x --set platform.file=data/README.md",
                   "malformed platform XML");
  TempDir dir;
  write_text(dir / "nolink.xml", relocated_wan_scenario(R"(<link pattern="gpu-*" latency="1ms"/>)"));
  expect_bad_input("run " + (dir / "nolink.xml").string(), "nolink.xml:13: <link> attribute 'pattern': 'gpu-*' matches no link");
  write_text(dir / "badlink.xml", relocated_wan_scenario(R"(<link pattern="wan-*" latency="fast"/>)"));
  expect_bad_input("run " + (dir / "badlink.xml").string(), "<link> attribute 'latency': 'fast' does not start with a number");
  expect_bad_input("run scenarios/wan/ma.xml --link 'gpu-*:latency=1ms'", "command line: --link gpu-*:latency=1ms: 'gpu-*' matches no link");
  expect_bad_input("run scenarios/wan/ma.xml --link 'wan-*:latency=soon'", "--link wan-*:latency=soon: 'soon' does not start with a number");
  expect_bad_input("run scenarios/wan/ma.xml --link 'wan-*'", "expected PATTERN:latency=TIME");
  expect_bad_input("run scenarios/wan/ma.xml --link 'wan-*:latency=50'", "--link wan-*:latency=50: '50' has no unit: a time needs one, e.g. 50ms");
  expect_bad_input("run scenarios/wan/ma.xml --link 'wan-*:bandwidth=0Gbps'", "--link wan-*:bandwidth=0Gbps: bandwidth must be positive");
  expect_bad_input("run scenarios/wan/ma.xml --link 'wan-*:latency=0s'", "--link wan-*:latency=0s: latency must be positive");
  expect_bad_input("run scenarios/wan/ma.xml --set stop.max-time=30", "'max-time' (set on the command line: --set stop.max-time): '30' has no unit");
  const auto unknown = run_dmlsim("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.out.find("A subcommand is required"), std::string::npos) << unknown.out;
}

TEST(BadInput, NonUtf8NamesAreRejectedBeforeRunning) {
  TempDir dir;
  std::string text = relocated_wan_scenario("");
  const auto at = text.find("name=\"wan-ssgd\"");
  text.replace(at, 15, "name=\"wan-\xe9\"");
  write_text(dir / "latin1.xml", text);
  const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
  expect_bad_input("run " + (dir / "latin1.xml").string(), fmt::format("latin1.xml:{}: byte 0xe9 is not UTF-8", line));
  expect_bad_input("run scenarios/seed/ma.xml --set 'scenario.name=caf\xe9'", "--set scenario.name=caf");
}

// A scenario of `workers` workers on the LAN platform, each with one row of a synthetic data set.
fs::path many_workers_scenario(const fs::path& dir, long workers, const std::string& algorithm_and_topology) {
  std::string rows = "x,y\n";
  for (long i = 0; i < workers; ++i) rows += fmt::format("{},{}\n", i % 7, i % 2);
  write_text(dir / "d.csv", rows);
  write_text(dir / "many.xml", fmt::format(R"(<scenario name="many">
  <platform file="{}"/>
  <network model="CM02"/>
  <data train="d.csv" test="d.csv" label="y"/>
  <workers count="{}" placement="pattern" pattern="node-*"/>
  <server host="node-0"/>
  {}
  <training rounds="1"/>
</scenario>
)", (source_dir() / "platforms/lan.xml").string(), workers, algorithm_and_topology));
  return dir / "many.xml";
}

// Actors of a star run: the workers, the broadcast sender groups (64 workers each), server, monitor.
long star_actors(long workers) { return workers + (workers + 63) / 64 + 2; }

TEST(BadInput, WorkerCountsTheMachineCannotHoldAreRejectedWithTheNumbers) {
  const long limit = std::stol(read_text("/proc/sys/vm/max_map_count"));
  if (limit > 400000) GTEST_SKIP() << "vm.max_map_count " << limit << " is too high to reach quickly";
  const long workers = limit / 2 + 100;
  TempDir dir;
  const auto scenario = many_workers_scenario(dir.path(), workers, R"(<algorithm name="ma" eta="0.1"/>)").string();
  expect_bad_input("run " + scenario, fmt::format("many.xml:5: {} actors (workers, helpers, the server and its broadcast "
                                                  "senders) need about {} memory mappings", star_actors(workers), 2 * star_actors(workers)));
  expect_bad_input("run " + scenario, fmt::format("vm.max_map_count is {}", limit));
}

// A streaming ring all-reduce runs a helper actor beside each worker: twice the stacks, counted
// before any is created (SimGrid would abort at the first stack it cannot map).
TEST(BadInput, HelperActorsCountTowardsTheMappingLimit) {
  const long limit = std::stol(read_text("/proc/sys/vm/max_map_count"));
  if (limit > 400000) GTEST_SKIP() << "vm.max_map_count " << limit << " is too high to reach quickly";
  const long workers = limit / 4 + 100;  // one actor per worker would fit, two do not
  TempDir dir;
  const auto scenario = many_workers_scenario(dir.path(), workers, R"(<algorithm name="streaming-diloco" eta="0.1" local-steps="20"/>
  <topology kind="ring-allreduce"/>)").string();
  expect_bad_input("run " + scenario, fmt::format("many.xml:5: {} actors", 2 * workers + (workers + 63) / 64 + 2));
}

// Under `ulimit -v`, stacks beyond the address space are refused with the numbers, not left to fail
// when SimGrid maps them.
TEST(BadInput, StacksBeyondTheAddressSpaceLimitAreRejectedWithTheNumbers) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer maps terabytes of shadow memory: it cannot start under an address-space limit";
#endif
  const auto outcome = in_child([] {
    const rlimit address_space{2'000'000'000, 2'000'000'000};
    if (::setrlimit(RLIMIT_AS, &address_space) != 0) return std::string("setrlimit failed");
    TempDir out;
    const auto refused = run_dmlsim("run scenarios/seed/ma.xml -q --set workers.count=300 --out " + (out / "run").string());
    const auto fits = run_dmlsim("run scenarios/seed/ma.xml -q --set workers.count=100 --out " + (out / "small").string());
    return fmt::format("{} {} {}\n{}", refused.exit_code, fs::exists(out / "run"), fits.exit_code, refused.out);
  });
  EXPECT_EQ(outcome.substr(0, outcome.find('\n')), "2 false 0") << outcome;
  EXPECT_NE(outcome.find(fmt::format("ma.xml:16: {} actor stacks of 8192 KiB need {:.3g} GB of address space, above this "
                                     "process's limit (ulimit -v) of 2 GB", star_actors(300), star_actors(300) * 8192 * 1024 / 1e9)),
            std::string::npos) << outcome;
}

TEST(BadInput, SimGridConfigurationValuesAreCheckedBeforeSimGridAbortsOnThem) {
  expect_bad_input("run scenarios/seed/ma.xml --cfg cpu/optim:Fast", "command line: --cfg: SimGrid configuration 'cpu/optim:Fast': 'Fast' is not one of Lazy, TI, Full");
  expect_bad_input("run scenarios/seed/ma.xml --cfg host/model:fancy", "'fancy' is not one of default, compound, ptask_L07");
  expect_bad_input("run scenarios/seed/ma.xml --cfg network/optim:x", "'network/optim:x'");
  expect_bad_input("run scenarios/seed/ma.xml --cfg contexts/factory:greenlet", "'greenlet' is not one of raw, ucontext, boost, thread");
  expect_bad_input("run scenarios/seed/ma.xml --cfg network/TCP-gamma:lots", "'lots' is not a number");
  expect_bad_input("run scenarios/seed/ma.xml --cfg contexts/stack-size:-5", "'contexts/stack-size:-5': must be at least 512 KiB");
  TempDir dir;
  std::string text = relocated_wan_scenario("");
  text.replace(text.find("<network profile=\"linux-tcp\"/>"), 30,
               "<network model=\"CM02\">\n    <config name=\"network/solver\" value=\"simplex\"/>\n  </network>");
  write_text(dir / "cfg.xml", text);
  expect_bad_input("run " + (dir / "cfg.xml").string(), "cfg.xml:14: SimGrid configuration 'network/solver:simplex'");
  const auto guarded = run_dmlsim("run scenarios/seed/ma.xml -q --cfg contexts/guard-size:0 --cfg contexts/factory:thread --out " + (dir / "ok").string());
  EXPECT_EQ(guarded.exit_code, 0) << guarded.out;
}

TEST(BadInput, PlatformsSimGridRejectsGiveExitTwoWithSimGridsOwnMessage) {
  const std::string wan = read_text(source_dir() / "platforms/wan-geo.xml");
  const auto body_start = wan.find("<platform");
  TempDir dir;
  const auto expect_platform_error = [&](const std::string& from, const std::string& to, const std::string& message) {
    std::string text = wan;
    const auto at = text.find(from, body_start);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    write_text(dir / "p.xml", text);
    expect_bad_input("run scenarios/wan/ma.xml --set platform.file=" + (dir / "p.xml").string(), (dir / "p.xml").string() + ": " + message);
  };
  expect_platform_error("routing=\"Full\"", "routing=\"5us\"", "SimGrid rejects this platform: Not a valid model!");
  expect_platform_error("core=\"1\"", "core=\"0\"", "SimGrid rejects this platform: Host us-east-0 must have at least one core, not 0.");
  const std::string link = "<link id=\"wan-us-east-eu-west\"";
  expect_platform_error(link, link + " bandwidth=\"1Gbps\" latency=\"1ms\" sharing_policy=\"SPLITDUPLEX\"/>\n    " + link,
                        "SimGrid rejects this platform: Link 'wan-us-east-eu-west_UP' declared several times in the platform.");
  const std::string route = "<zoneRoute src=\"us-east\" dst=\"eu-west\"";
  expect_platform_error(route, route + " gw_src=\"us-east-router\" gw_dst=\"eu-west-router\"><link_ctn id=\"wan-us-east-eu-west\" direction=\"UP\"/></zoneRoute>\n    " + route,
                        "SimGrid rejects this platform: The route between us-east@us-east-router and eu-west@eu-west-router already exists");
  expect_platform_error("speed=\"20Gf\"", "speed=\"0f\"", "host 'us-east-0' has speed 0 FLOP/s: it must be positive");
  expect_platform_error("bandwidth=\"1Gbps\" latency=\"40ms\"", "bandwidth=\"0Bps\" latency=\"40ms\"", "link 'wan-us-east-eu-west_DOWN' has bandwidth 0 B/s");
  expect_platform_error("latency=\"40ms\"", "latency=\"-1s\"", "link 'wan-us-east-eu-west_DOWN' has latency -1 s: it must be between 0 and 10000 s");
  expect_platform_error("latency=\"40ms\"", "latency=\"100000s\"", "link 'wan-us-east-eu-west_DOWN' has latency 100000 s");
  expect_bad_input("run scenarios/wan/ma.xml --link 'wan-*:latency=1e6s'", "(after the link overrides)");
}

TEST(FirstHour, OptionsMayComeBeforeTheScenario) {
  TempDir out;
  const auto result = run_dmlsim("run --set algorithm.eta=0.05 --cfg network/TCP-gamma:0 --link 'lan_link_*:latency=1ms' "
                                 "scenarios/seed/ma.xml -q --set training.rounds=2 --out " + (out / "r").string());
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(summary(out / "r")["algorithm"]["eta"].dump().find("0.05"), std::string::npos);
}

TEST(FirstHour, SimGridsOwnLogOptionIsAccepted) {
  TempDir out;
  const auto result = run_dmlsim("run scenarios/seed/ma.xml -q --log=root.thres:critical --log=xbt_cfg.thres:verbose "
                                 "--set training.rounds=2 --out " + (out / "r").string());
  EXPECT_EQ(result.exit_code, 0) << result.out;
  expect_bad_input("run scenarios/seed/ma.xml --log=root.thres:bogus", "command line: --log=root.thres:bogus: SimGrid rejects it: ");
  expect_bad_input("run scenarios/seed/ma.xml --log=foo", "--log=foo: SimGrid rejects it: Invalid control string 'foo'");
}

TEST(FirstHour, UnknownHostsAreListedWithTheValidOnes) {
  expect_bad_input("run scenarios/seed/ma.xml --set server.host=node-999",
                   "host 'node-999' is not in platform platforms/lan.xml (its 72 hosts: node-0, node-1, node-2, …, node-71)");
}

TEST(FirstHour, ValidatePrintsTheNetworkTheRunUses) {
  const auto result = run_dmlsim("validate scenarios/seed/ma.xml");
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("network      CM02, TCP-gamma"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("profile linux-tcp"), std::string::npos) << result.out;
}

TEST(FirstHour, ZonePlacementWarnsWhenItStacksWorkersWhileHostsAreFree) {
  TempDir dir;
  std::string platform = read_text(source_dir() / "platforms/wan-geo.xml");
  const std::string from = "prefix=\"us-east-\" radical=\"0-31\"";
  platform.replace(platform.find(from), from.size(), "prefix=\"us-east-\" radical=\"0-1\"");
  write_text(dir / "small-zone.xml", platform);
  const auto result = run_dmlsim("validate scenarios/wan/ma.xml --set platform.file=" + (dir / "small-zone.xml").string());
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("warning: placement=\"zones\" puts several workers on 1 host(s) while"), std::string::npos)
      << result.out;
  EXPECT_EQ(run_dmlsim("validate scenarios/wan/ma.xml").out.find("warning"), std::string::npos);
}

TEST(BadInput, DivergingModelStopsWithAClearMessage) {
  TempDir out;
  const auto result = run_dmlsim("run scenarios/seed/ssgd.xml -q --set algorithm.eta=1e306 --out " + (out / "d").string());
  EXPECT_EQ(result.exit_code, 3) << result.out;
  EXPECT_NE(result.out.find("scenarios/seed/ssgd.xml: the model diverged at round"), std::string::npos) << result.out;
  EXPECT_FALSE(fs::exists(out / "d"));
}

// A host of the platform fails (state_file) while a worker on it exchanges with the server: the
// exception escapes the actor and SimGrid aborts the process it runs in.
TEST(BadInput, ASimGridAbortDuringTheRunIsAFailedRunThatLeavesThePreviousResults) {
  TempDir dir;
  write_text(dir / "off.txt", "0.02 0\n");
  write_text(dir / "failing.xml", R"(<?xml version='1.0'?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<platform version="4.1">
  <zone id="z" routing="Full">
    <host id="node-0" speed="1Gf"/>
    <host id="node-1" speed="1Gf" state_file="off.txt"/>
    <link id="l" bandwidth="1Gbps" latency="1ms"/>
    <route src="node-0" dst="node-1"><link_ctn id="l"/></route>
  </zone>
</platform>
)");
  const std::string args = "run scenarios/seed/ma.xml -q --set workers.count=2 --out " + (dir / "r").string();
  ASSERT_EQ(run_dmlsim(args).exit_code, 0);
  const auto previous = read_text(dir / "r" / "summary.json");
  const auto result = run_dmlsim(args + " --set platform.file=" + (dir / "failing.xml").string());
  EXPECT_EQ(result.exit_code, 3) << result.out;
  EXPECT_NE(result.out.find("NetworkFailureException"), std::string::npos) << "SimGrid's diagnosis is kept:\n" << result.out;
  EXPECT_NE(result.out.find("scenarios/seed/ma.xml: the simulation was ended inside SimGrid (killed by signal: Aborted"),
            std::string::npos) << result.out;
  EXPECT_EQ(read_text(dir / "r" / "summary.json"), previous);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 3) << "no temporary left";
}

TEST(Outputs, SimGridsTraceGoesIntoTheOutputDirectoryWithTheOtherResults) {
  TempDir dir;
  write_text(dir / "star.xml", star_platform(2, {}));
  const std::string run = "run scenarios/seed/ma.xml -q --set training.rounds=3 --set platform.file=" + (dir / "star.xml").string() +
                          " --set server.host=server --set workers.count=2 --set workers.pattern=w* --cfg tracing:yes "
                          "--cfg tracing/uncategorized:yes --out ";
  const auto result = run_dmlsim(run + (dir / "r").string());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  const auto trace = read_text(dir / "r" / "simgrid.trace");
  EXPECT_NE(trace.find("%EndEventDef"), std::string::npos);
  EXPECT_GT(std::count(trace.begin(), trace.end(), '\n'), 100) << "the events of the whole run, not only the header";
  EXPECT_FALSE(fs::exists(source_dir() / "simgrid.trace")) << "nothing in the current directory";
  EXPECT_TRUE(fs::exists(dir / "r" / "summary.json"));

  const auto named = run_dmlsim(run + (dir / "named").string() + " --cfg tracing/filename:ma.trace");
  ASSERT_EQ(named.exit_code, 0) << named.out;
  EXPECT_EQ(read_text(dir / "named" / "ma.trace"), trace) << "same scenario, same trace";
  EXPECT_FALSE(fs::exists(dir / "named" / "simgrid.trace"));
  expect_bad_input(run.substr(0, run.size() - 7) + " --cfg tracing/filename:" + (dir / "elsewhere.trace").string(),
                   "the trace goes into the run's output directory, so give a plain file name");
  expect_bad_input(run.substr(0, run.size() - 7) + " --cfg tracing/filename:summary.json", "is one of the run's own files");
  // Without tracing, a re-run leaves no stale trace behind.
  ASSERT_EQ(run_dmlsim(run.substr(0, run.find(" --cfg tracing:yes")) + " --out " + (dir / "r").string()).exit_code, 0);
  EXPECT_FALSE(fs::exists(dir / "r" / "simgrid.trace"));
}

// Compression wraps the server role; who takes part (FedAvg's client sampling) and how many uploads
// a round waits for (backup workers) stay the algorithm's.
TEST(Run, CompressedPayloadsKeepTheAlgorithmsParticipantsAndBackupWorkers) {
  TempDir dir;
  const auto run = [&](const std::string& scenario, const std::string& sets, const std::string& name) {
    const auto result = run_dmlsim("run scenarios/wan/" + scenario + " -q --set training.rounds=10 " + sets + " --out " +
                                   (dir / name).string());
    EXPECT_EQ(result.exit_code, 0) << result.out;
    return dir / name;
  };
  const auto message_bytes = [](const fs::path& dir_of_run) { return summary(dir_of_run)["training"]["message_bytes"].get<double>(); };
  const auto plain = run("fedavg.xml", "", "fedavg"), int8 = run("fedavg.xml", "--set compression.format=int8", "fedavg-int8");
  const auto messages = csv_column(plain / "rounds.csv", 6);
  EXPECT_EQ(messages.back(), "40") << "2 of the 4 clients a round, a broadcast and an upload each";
  EXPECT_EQ(csv_column(int8 / "rounds.csv", 6), messages);
  const auto plain_intra = csv_column(plain / "rounds.csv", 7), int8_intra = csv_column(int8 / "rounds.csv", 7);
  const auto int8_bytes = csv_column(int8 / "rounds.csv", 5);
  for (std::size_t row = 0; row < messages.size(); ++row) {
    EXPECT_EQ(std::stod(int8_bytes[row]), std::stod(messages[row]) * message_bytes(int8)) << "row " << row;
    // The same clients: the same messages stay inside a region.
    EXPECT_EQ(std::stod(int8_intra[row]) / message_bytes(int8), std::stod(plain_intra[row]) / message_bytes(plain)) << "row " << row;
  }
  const auto time = [](const fs::path& dir_of_run) { return summary(dir_of_run)["result"]["sim_time"].get<double>(); };
  const auto backup = run("ssgd-backup.xml", "--set compression.format=int8", "backup-int8");
  const auto no_backup = run("ssgd-backup.xml", "--set compression.format=int8 --set algorithm.backup=0", "no-backup-int8");
  EXPECT_LT(time(backup), 0.7 * time(no_backup)) << "the round does not wait for the farthest region";
  EXPECT_NEAR(time(backup), time(run("ssgd-backup.xml", "", "backup")), 1e-3);
}

// rounds.csv books the mean compute and communication time per worker at every evaluation, so the
// breakdown can be read up to a target; at the last row it is the summary's.
TEST(Outputs, RoundsCarryTheTimeBreakdownSoFar) {
  TempDir out;
  ASSERT_EQ(run_dmlsim("run scenarios/wan/ma.xml -q --set training.rounds=40 --out " + (out / "r").string()).exit_code, 0);
  const auto time = csv_column(out / "r" / "rounds.csv", 1), compute = csv_column(out / "r" / "rounds.csv", 9),
             comm = csv_column(out / "r" / "rounds.csv", 10);
  ASSERT_EQ(compute.size(), 41u);
  for (std::size_t row = 1; row < time.size(); ++row) {
    EXPECT_GE(std::stod(compute[row]), std::stod(compute[row - 1]));
    EXPECT_GT(std::stod(comm[row]), std::stod(comm[row - 1])) << "every round of MA sends";
    EXPECT_LE(std::stod(compute[row]) + std::stod(comm[row]), std::stod(time[row]) * (1 + 1e-12));
  }
  const auto breakdown = summary(out / "r")["time_breakdown"];
  EXPECT_DOUBLE_EQ(std::stod(compute.back()), breakdown["mean_compute_time"].get<double>());
  EXPECT_DOUBLE_EQ(std::stod(comm.back()), breakdown["mean_comm_time"].get<double>());
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
