// The bad-input audit of issues 10, 12, 14 and 15: every case their "Bad input" sections list (and
// close neighbours), built here and run through the binary. A case must end with its exit code —
// 2 with exactly one line `FILE:LINE: what is wrong` at the line of the offending element, row or
// edge, or 3 with one line saying why — and leave its directory as it found it (nothing written).
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

using namespace dmlsim;
using namespace dmlsim::testutil;
namespace fs = std::filesystem;

namespace {

// Where the one line of an exit-2 message must point: FILE (in the case's directory, or "command
// line") at the line of the first occurrence of `marker` in it (no line when `marker` is empty);
// an empty FILE: anywhere.
struct Where {
  std::string file, marker;
};

struct Case {
  std::string name;
  std::vector<std::pair<std::string, std::string>> files;  // written into the case's directory; {d} is it
  std::string args;                                        // dmlsim's arguments; {d} is the directory
  int exit_code = 2;
  Where where;
  std::string what;  // part of the message
};

// The test's name stands for the case in GoogleTest's listings.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::logic_error("the shipped scenario no longer has: " + from);
  return text.replace(at, from.size(), to);
}

std::string with_dir(std::string text, const fs::path& dir) {
  for (auto at = text.find("{d}"); at != std::string::npos; at = text.find("{d}", at)) text.replace(at, 3, dir.string());
  return text;
}

// The shipped seed SSGD scenario (LAN cluster, 4 workers) with another <algorithm> (and what goes before it).
std::string seed_with(const std::string& algorithm) {
  return replaced(relocated_scenario("scenarios/seed/ssgd.xml"), R"(<algorithm name="ssgd" eta="0.1" average="samples"/>)",
                  algorithm);
}

// The shipped WAN D-PSGD scenario with another <topology> (and optionally another algorithm).
std::string dpsgd_with(const std::string& topology, const std::string& algorithm = R"(name="dpsgd" eta="0.1" variant="lian")") {
  return replaced(replaced(relocated_scenario("scenarios/wan/dpsgd.xml"), R"(<topology kind="gossip" graph="ring"/>)", topology),
                  R"(name="dpsgd" eta="0.1" variant="lian")", algorithm);
}

std::string graph_file_scenario() { return dpsgd_with(R"(<topology kind="gossip" graph="file" file="g.txt"/>)"); }

// The shipped WAN MA scenario with failures (4 workers on us-east-1, eu-west-0, ap-northeast-0,
// us-east-2; 300 rounds) with its <failures> replaced.
std::string failures_with(const std::string& block) {
  auto text = relocated_scenario("scenarios/wan/ma-failures.xml");
  const auto begin = text.find("<failures"), end = text.find("</failures>") + std::string("</failures>").size();
  return text.replace(begin, end - begin, block);
}

const std::string kRun = "run {d}/s.xml -q --out {d}/out";
const std::string kRunSeedWithProfile = "run scenarios/seed/ssgd.xml -q --network-profile {d}/p.xml --out {d}/out";
const std::string kPlatform = "platform --regions {d}/m.csv --hosts-per-region 2 -o {d}/p.xml";

std::string matrix(const std::vector<std::string>& rows) {
  std::string text = "region_a,region_b,rtt_ms,gbps_bw\n";
  for (const auto& row : rows) text += row + "\n";
  return text;
}
const std::vector<std::string> kThreeRegions = {"a,b,10,1", "a,c,20,2", "b,c,30,3"};

std::string profile(const std::string& tcp_attributes) {
  return "<?xml version=\"1.0\"?>\n<network-profile name=\"bad\" model=\"CM02\"><tcp " + tcp_attributes +
         "/></network-profile>\n";
}

Case scenario_case(std::string name, std::string scenario, Where where, std::string what,
                   std::vector<std::pair<std::string, std::string>> more = {}) {
  more.insert(more.begin(), {"s.xml", std::move(scenario)});
  return {std::move(name), std::move(more), kRun, 2, std::move(where), std::move(what)};
}

Case matrix_case(std::string name, std::vector<std::string> rows, std::string marker, std::string what,
                 std::string extra_args = "") {
  return {std::move(name), {{"m.csv", matrix(rows)}}, kPlatform + extra_args, 2, {"m.csv", std::move(marker)}, std::move(what)};
}

Case profile_case(std::string name, const std::string& tcp_attributes, std::string what) {
  return {std::move(name), {{"p.xml", profile(tcp_attributes)}}, kRunSeedWithProfile, 2, {"p.xml", "<tcp"}, std::move(what)};
}

// D-PSGD on a star whose workers are joined only through the server: gossip neighbours have no route.
std::string gossip_on_star_platform() {
  auto text = seed_with(R"(<topology kind="gossip" graph="ring"/><algorithm name="dpsgd" eta="0.1"/>)");
  text = replaced(text, (source_dir() / "platforms/lan.xml").string(), "star.xml");
  text = replaced(text, R"(placement="pattern" pattern="node-*")", R"(placement="hosts" hosts="w0,w1,w2,w3")");
  return replaced(text, R"(<server host="node-0"/>)", R"(<server host="server"/>)");
}

std::vector<Case> gossip_and_sampling_cases() {  // issue 10
  const Where topology{"s.xml", "<topology"}, algorithm{"s.xml", "<algorithm"};
  return {
      scenario_case("UnknownGraphKind", dpsgd_with(R"(<topology kind="gossip" graph="hexagon"/>)"), topology,
                    "'hexagon' is not one of: ring, torus, complete, file"),
      scenario_case("GraphFileUnknownWorker", graph_file_scenario(), {"g.txt", "3 7"}, "'7' is not a worker",
                    {{"g.txt", "0 1\n1 2\n2 3\n3 7\n"}}),
      scenario_case("GraphFileNegativeWorker", graph_file_scenario(), {"g.txt", "3 -1"}, "'-1' is not a worker",
                    {{"g.txt", "0 1\n1 2\n2 3\n3 -1\n"}}),
      scenario_case("GraphFileSelfLoop", graph_file_scenario(), {"g.txt", "3 3"}, "joins a worker to itself",
                    {{"g.txt", "0 1\n1 2\n2 3\n3 3\n"}}),
      scenario_case("GraphFileWorkerLeftOut", graph_file_scenario(), topology, "worker 3 cannot reach worker 0",
                    {{"g.txt", "0 1\n1 2\n"}}),
      scenario_case("GraphFileNotConnected", graph_file_scenario(), topology, "workers 2, 3 cannot reach worker 0",
                    {{"g.txt", "0 1\n2 3\n"}}),
      scenario_case("GraphFileMissing", dpsgd_with(R"(<topology kind="gossip" graph="file" file="none.txt"/>)"), topology,
                    "does not exist"),
      scenario_case("StalenessNegative", seed_with(R"(<algorithm name="ssp" eta="0.1" s="-1"/>)"), algorithm,
                    "'s': '-1' is not a non-negative integer"),
      scenario_case("FractionZero", seed_with(R"(<algorithm name="fedavg" eta="0.1" fraction="0"/>)"), algorithm,
                    "0 is out of range (0, 1]"),
      scenario_case("FractionAboveOne", seed_with(R"(<algorithm name="fedavg" eta="0.1" fraction="1.5"/>)"), algorithm,
                    "1.5 is out of range (0, 1]"),
      scenario_case("FractionNegative", seed_with(R"(<algorithm name="fedavg" eta="0.1" fraction="-0.5"/>)"), algorithm,
                    "-0.5 is out of range (0, 1]"),
      scenario_case("BackupEqualToK", seed_with(R"(<algorithm name="ssgd-backup" eta="0.1" backup="4"/>)"), algorithm,
                    "'backup' is 4, but it must be below the 4 workers"),
      scenario_case("BackupAboveK", seed_with(R"(<algorithm name="ssgd-backup" eta="0.1" backup="9"/>)"), algorithm,
                    "'backup' is 9, but it must be below the 4 workers"),
      scenario_case("GossipOnParameterServer", dpsgd_with(R"(<topology kind="parameter-server"/>)"), algorithm,
                    "dpsgd runs only on topology gossip"),
      scenario_case("PairwiseGossipOnRingAllreduce",
                    dpsgd_with(R"(<topology kind="ring-allreduce"/>)", R"(name="adpsgd" eta="0.1")"), algorithm,
                    "adpsgd runs only on topology gossip"),
      scenario_case("GossipOnStarOnlyPlatform", gossip_on_star_platform(), topology,
                    "which the platform does not connect (no route)", {{"star.xml", star_platform(4, {})}}),
  };
}

std::vector<Case> region_matrix_cases() {  // issue 12
  return {
      matrix_case("MatrixMissingPair", {kThreeRegions[0], kThreeRegions[1]}, kThreeRegions[1], "pair b–c is missing"),
      matrix_case("MatrixAsymmetricDuplicate", {"a,b,10,1", "a,c,20,2", "b,c,30,3", "b,a,11,1"}, "b,a,11,1",
                  "a pair must be symmetric"),
      matrix_case("MatrixZeroTime", {"a,b,0,1", "a,c,20,2", "b,c,30,3"}, "a,b,0,1", "column 'rtt_ms': 0 is not positive"),
      matrix_case("MatrixNegativeBandwidth", {"a,b,10,-1", "a,c,20,2", "b,c,30,3"}, "a,b,10,-1",
                  "column 'gbps_bw': -1 is not positive"),
      matrix_case("MatrixNotFinite", {"a,b,inf,1", "a,c,20,2", "b,c,30,3"}, "a,b,inf,1", "'inf' is not finite"),
      matrix_case("MatrixEmptyValue", {"a,b,,1", "a,c,20,2", "b,c,30,3"}, "a,b,,1", "empty value"),
      matrix_case("MatrixSelfPair", {"a,b,10,1", "a,c,20,2", "b,c,30,3", "a,a,1,1"}, "a,a,1,1", "paired with itself"),
      matrix_case("MatrixShortRow", {"a,b,10,1", "a,c,20,2", "b,c,30,3", "a,b,10"}, "a,b,10\n", "3 fields, the header has 4"),
      matrix_case("MatrixUnknownTimeColumn", kThreeRegions, "region_a", "unknown round-trip time column 'rtt_us'",
                  " --rtt-column rtt_us"),
      matrix_case("MatrixUnknownBandwidthColumn", kThreeRegions, "region_a", "unknown bandwidth column 'bw'",
                  " --bw-column bw"),
      {"MatrixColumnWithoutUnit", {{"m.csv", "region_a,region_b,rtt,bw\na,b,1,1\n"}},
       kPlatform + " --rtt-column rtt --bw-column bw", 2, {"m.csv", "region_a"}, "has no round-trip time unit"},
      // Fixed in this audit: the first of two same-named columns was taken silently.
      {"MatrixColumnNamedTwice", {{"m.csv", "region_a,region_b,rtt_ms,rtt_ms,gbps_bw\na,b,1,2,1\n"}}, kPlatform, 2,
       {"m.csv", "region_a"}, "column 'rtt_ms' is named twice in the header"},
      // Fixed in this audit: CLI11's usage errors were two lines without the command line named.
      {"PlatformHostsPerRegionZero", {{"m.csv", matrix(kThreeRegions)}},
       "platform --regions {d}/m.csv --hosts-per-region 0 -o {d}/p.xml", 2, {"command line", ""},
       "--hosts-per-region: Value 0 not in range"},
  };
}

std::vector<Case> failure_cases() {  // issue 12
  const auto failures = [](const std::string& events) {
    return failures_with(R"(<failures timeout="2s">)" + events + "</failures>");
  };
  const Where host{"s.xml", "<host name"}, link{"s.xml", "<link name"};
  return {
      scenario_case("FailureUnknownHost", failures(R"(<host name="nohost" at="1s"/>)"), host, "host 'nohost' is not in platform"),
      scenario_case("FailureUnknownLink", failures(R"(<link name="nolink" at="1s"/>)"), link, "link 'nolink' is not in platform"),
      scenario_case("FailureNegativeTime", failures(R"(<host name="eu-west-0" at="-1s"/>)"), host, "a time must not be negative"),
      scenario_case("FailureLinkNegativeTime", failures(R"(<link name="wan-us-east-ap-northeast" at="-1s"/>)"), link,
                    "a time must not be negative"),
      scenario_case("FailureNegativeRound", failures(R"(<host name="eu-west-0" round="-1"/>)"), host,
                    "is not a non-negative integer"),
      scenario_case("FailureNegativeDuration", failures(R"(<host name="eu-west-0" at="1s" for="-1s"/>)"), host,
                    "a time must not be negative"),
      scenario_case("FailureRoundAfterTheEnd", failures(R"(<host name="eu-west-0" round="301"/>)"), host,
                    "round 301 is after the last round of training (300)"),
      // A failure timed after the run's end is no bad input: summary.json reports it not reached
      // (tests/test_world_failures.cpp).
      // <failures> on the server-less topologies: a link must be on a route between two workers
      // (a cluster link of a host that runs nothing is not).
      scenario_case("FailureLinkBetweenNoTwoWorkers",
                    replaced(failures(R"(<link name="us-east_link_31" at="5s"/>)"), "<server host=\"us-east-0\"/>",
                             R"(<topology kind="hierarchical"/>)"),
                    link, "link 'us-east_link_31' is on no route between two workers"),
      {"EveryWorkerDies",
       {{"s.xml", failures(R"(<host name="us-east-1" at="1s"/><host name="eu-west-0" at="1s"/>)"
                           R"(<host name="ap-northeast-0" at="1s"/><host name="us-east-2" at="1s"/>)")}},
       kRun, 3, {"s.xml", ""}, "every worker is down or cut off from the server"},
  };
}

// Running the seed scenario on the LAN platform whose cluster has the power property `prop`.
Case platform_power_case(std::string name, const std::string& prop, std::string what) {
  const auto platform = replaced(read_text(source_dir() / "platforms/lan.xml"), R"(router_id="lan-router"/>)",
                                 "router_id=\"lan-router\">\n      " + prop + "\n    </cluster>");
  return {std::move(name), {{"p.xml", platform}},
          "run scenarios/seed/ssgd.xml -q --set platform.file={d}/p.xml --out {d}/out", 2, {"p.xml", "<prop"}, std::move(what)};
}

std::vector<Case> scale_and_profile_cases() {  // issues 14 and 15
  const auto seed = relocated_scenario("scenarios/seed/ssgd.xml");
  return {
      scenario_case("WorkersBeyondTheRange",
                    replaced(relocated_scenario("scenarios/seed/ssgd.xml"), R"(count="4")", R"(count="4000000")"),
                    {"s.xml", "<workers"},
                    "4000000 is out of range [1, 1048576]"),
      profile_case("WindowBelowOneSegment", R"(rmem-max="4096B" wmem-max="4096B" rcv-buffer-share="0.3")",
                   "the buffers allow a window of less than 1 MSS"),
      profile_case("InitialWindowZero", R"(initial-window="0")", "the initial window must be at least 1 segment"),
      profile_case("NegativeRto", R"(rto-min="-1ms")", "the minimum RTO must not be negative"),
      profile_case("ReceiveBufferBelow4KiB", R"(rmem-max="4000B")", "must be at least 4 KiB"),
      profile_case("SendBufferBelow4KiB", R"(wmem-max="1KiB")", "must be at least 4 KiB"),
      // Fixed in this audit: SimGrid splits "key:value" at commas and spaces and aborted (exit 134) on
      // a profile's <config name="1,2">; an unknown key's message went on with every key SimGrid has.
      {"ProfileConfigNameWithAComma",
       {{"s.xml", seed},
        {"p.xml", R"(<network-profile name="bad" model="CM02"><config name="1,2" value="0"/></network-profile>)"}},
       kRun + " --network-profile {d}/p.xml", 2, {"s.xml", "<network"},
       "'1,2:0': an item's name must not be empty, and neither name nor value may hold a space, tab, newline or comma"},
      {"ConfigValueWithASpace", {{"s.xml", seed}}, kRun + " --cfg 'network/TCP-gamma:1 2'", 2, {"command line", ""},
       "'network/TCP-gamma:1 2': an item's name must not be empty"},
      {"UnknownConfigKeyInOneLine", {{"s.xml", seed}}, kRun + " --cfg bogus/key:1", 2, {"s.xml", "<network"},
       "SimGrid rejected the configuration 'bogus/key:1': Bad config key: bogus/key"},
      // Fixed in this audit: -o naming a directory was exit 2 with a message naming no file.
      {"PlatformOutputIsADirectory", {{"m.csv", matrix(kThreeRegions)}},
       "platform --regions {d}/m.csv --hosts-per-region 2 -o {d}", 3, {"", ""}, "the platform could not be written, nothing was"},
      // Fixed in this audit: SimGrid took a unit-less rate or time in a platform with a warning only.
      {"PlatformRateWithoutUnit",
       {{"p.xml", replaced(read_text(source_dir() / "platforms/lan.xml"), R"(bb_bw="100Gbps")", R"(bb_bw="1e10")")}},
       "run scenarios/seed/ssgd.xml -q --set platform.file={d}/p.xml --out {d}/out", 2, {"p.xml", "<cluster"},
       "<cluster> attribute 'bb_bw': '1e10' has no unit"},
      // Fixed in this audit: a busy power below idle, or a negative power property in the platform,
      // gave negative joules; a tiny actor stack made SimGrid die of a segmentation fault (exit 3).
      scenario_case("EnergyBusyBelowIdle",
                    replaced(seed, "<output ", "<energy host-idle=\"100W\" host-busy=\"50W\"/>\n  <output "),
                    {"s.xml", "<energy"}, "<energy> attribute 'host-busy': 50 W is below host-idle (100 W)"),
      // Fixed in this audit: an idle power above busy named host-busy even when the user gave only
      // host-idle (--set energy.host-idle=300W against the default busy 200 W).
      {"EnergyIdleAboveTheDefaultBusyOnTheCommandLine",
       {{"s.xml", replaced(seed, "<output ", "<energy/>\n  <output ")}},
       kRun + " --set energy.host-idle=300W", 2, {"s.xml", "<energy"},
       "<energy> attribute 'host-idle' (set on the command line: --set energy.host-idle): 300 W is above host-busy "
       "(200 W, the default)"},
      {"EnergyBusyFromTheCommandLineBelowIdleInTheFile",
       {{"s.xml", replaced(seed, "<output ", "<energy host-idle=\"100W\" host-busy=\"150W\"/>\n  <output ")}},
       kRun + " --set energy.host-busy=50W", 2, {"s.xml", "<energy"},
       "<energy> attribute 'host-busy' (set on the command line: --set energy.host-busy): 50 W is below host-idle (100 W)"},
      scenario_case("EnergyLinkIdleAboveTheDefaultBusy",
                    replaced(seed, "<output ", "<energy links=\"true\" link-idle=\"30W\"/>\n  <output "),
                    {"s.xml", "<energy"}, "<energy> attribute 'link-idle': 30 W is above link-busy (20 W, the default)"),
      scenario_case("EnergyLinkBusyBelowIdle",
                    replaced(seed, "<output ", "<energy links=\"true\" link-idle=\"30W\" link-busy=\"25W\"/>\n  <output "),
                    {"s.xml", "<energy"}, "<energy> attribute 'link-busy': 25 W is below link-idle (30 W)"),
      {"WorkerHostsFromTheCommandLineAgainstTheFilesCount", {{"s.xml", seed}},
       kRun + " --set workers.placement=hosts --set workers.hosts=node-1,node-2", 2, {"s.xml", "<workers"},
       "<workers> attribute 'hosts' (set on the command line: --set workers.hosts): lists 2 hosts but 'count' is 4"},
      platform_power_case("PlatformEpsilonAboveBusy", R"(<prop id="wattage_per_state" value="100:300:200"/>)",
                          "<prop id=\"wattage_per_state\">: '100:300:200': the epsilon power is above the busy power"),
      platform_power_case("PlatformEpsilonBelowIdle", R"(<prop id="wattage_per_state" value="100:50:200"/>)",
                          "<prop id=\"wattage_per_state\">: '100:50:200': the epsilon power is below the idle power"),
      platform_power_case("PlatformThreeStatesBusyBelowIdle", R"(<prop id="wattage_per_state" value="200:150:100"/>)",
                          "<prop id=\"wattage_per_state\">: '200:150:100': the busy power is below the idle power"),
      platform_power_case("PlatformNegativeWattageOff", R"(<prop id="wattage_off" value="-10"/>)",
                          "<prop id=\"wattage_off\">: -10 W is negative"),
      platform_power_case("PlatformWattagePerStateBusyBelowIdle", R"(<prop id="wattage_per_state" value="100:200,300:200"/>)",
                          "<prop id=\"wattage_per_state\">: '300:200': the busy power is below the idle power"),
      {"TinyActorStack", {}, "run scenarios/seed/ssgd.xml -q --cfg contexts/stack-size:16 --out {d}/out", 2,
       {"command line", ""}, "'contexts/stack-size:16': must be at least 512 KiB"},
      {"CalibrateSimulateNegativeRto", {{"p.xml", profile(R"(rto-min="-1ms")")}},
       "calibrate simulate --profile {d}/p.xml --latency 10ms --bandwidth 100Mbps --sizes 1MB", 2, {"p.xml", "<tcp"},
       "the minimum RTO must not be negative"},
      {"CalibrateFitRefusesAFlaggedMeasurement",
       {{"m.json", R"j({"flagged": true, "flag_reason": "the delay line dropped 2000 packets (bound 10)", "gap": 0.01,
                       "observations": []})j"}},
       "calibrate fit {d}/m.json --out {d}/p.xml", 2, {"m.json", ""},
       "flagged for emulator drops (the delay line dropped 2000 packets (bound 10)); not fitting a profile to it"},
  };
}

// Fixed in this audit: a quoted value holding a newline (&#10;) or an ESC byte was written raw, so
// the message took two lines and drove the terminal (here: red text).
std::vector<Case> message_cases() {
  const Where algorithm{"s.xml", "<algorithm"};
  return {
      scenario_case("NewlineAndEscapeInAQuotedValue",
                    seed_with("<algorithm name=\"ss&#10;gd\x1b[31m\" eta=\"0.1\"/>"), algorithm,
                    "<algorithm> attribute 'name': 'ss\\ngd\\x1b[31m' is not one of: ssgd, ma"),
      scenario_case("CarriageReturnInANumber", seed_with("<algorithm name=\"ssgd\" eta=\"0.1&#13;\"/>"), algorithm,
                    "<algorithm> attribute 'eta': '0.1\\r' is not a number"),
      scenario_case("EscapeInAGraphFile", graph_file_scenario(), {"g.txt", "3 \x1b"}, "'\\x1b[2J' is not a worker",
                    {{"g.txt", "0 1\n1 2\n2 3\n3 \x1b[2J\n"}}),
      {"NewlineInACommandLineValue", {}, "run scenarios/seed/ssgd.xml -q --set \"$(printf 'algorithm.eta=0.1\\nx')\" --out {d}/out",
       2, {"", ""}, "(set on the command line: --set algorithm.eta): '0.1\\nx' is not a number"},
  };
}

std::vector<Case> all_cases() {
  std::vector<Case> all;
  for (auto part : {gossip_and_sampling_cases(), region_matrix_cases(), failure_cases(), scale_and_profile_cases(),
                    message_cases()})
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

std::set<fs::path> listing(const fs::path& dir) {
  std::set<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) files.insert(entry.path());
  return files;
}

// "DIR/FILE:LINE: " (or "DIR/FILE: ", "command line: ") as the message must give it.
std::string expected_location(const Where& where, const std::vector<std::pair<std::string, std::string>>& files,
                              const fs::path& dir) {
  if (where.file == "command line") return "command line: ";
  if (where.file.empty()) return "dmlsim: ";
  const auto path = (dir / where.file).string();
  if (where.marker.empty()) return path + ": ";
  for (const auto& [name, text] : files)
    if (name == where.file) {
      const auto content = with_dir(text, dir);
      const auto at = content.find(where.marker);
      if (at == std::string::npos) throw std::logic_error("no '" + where.marker + "' in " + name);
      return fmt::format("{}:{}: ", path, 1 + std::count(content.begin(), content.begin() + static_cast<long>(at), '\n'));
    }
  throw std::logic_error("the case writes no " + where.file);
}

class BadInputAudit : public ::testing::TestWithParam<Case> {};

// Runs the case in a fresh directory (after `shell_prefix` in the shell command, e.g. a ulimit).
void expect_refused(const Case& c, const std::string& shell_prefix = "") {
  TempDir dir;
  for (const auto& [name, text] : c.files) write_text(dir / name, with_dir(text, dir.path()));
  const auto before = listing(dir.path());
  const auto result = run_dmlsim(with_dir(c.args, dir.path()), shell_prefix);
  EXPECT_EQ(result.exit_code, c.exit_code) << result.out;
  EXPECT_EQ(listing(dir.path()), before) << "something was written";
  std::istringstream lines(result.out);
  std::vector<std::string> nonempty;
  for (std::string line; std::getline(lines, line);)
    if (line.find_first_not_of(" \t") != std::string::npos) nonempty.push_back(line);
  ASSERT_EQ(nonempty.size(), 1u) << result.out;
  const auto control = std::find_if(result.out.begin(), result.out.end(),
                                    [](unsigned char byte) { return (byte < 0x20 && byte != '\n') || byte == 0x7f; });
  EXPECT_EQ(control, result.out.end()) << "a control byte reaches the terminal: " << result.out;
  EXPECT_NE(nonempty[0].find(expected_location(c.where, c.files, dir.path())), std::string::npos) << nonempty[0];
  EXPECT_NE(nonempty[0].find(c.what), std::string::npos) << nonempty[0];
}

TEST_P(BadInputAudit, EndsWithItsExitCodeOneMessageAndNothingWritten) { expect_refused(GetParam()); }

// Issue 14: a worker count whose actor stacks the process cannot map is refused up front with the
// numbers (Fashion-MNIST, so that 60,000 workers each get data), not an abort mid-run.
std::string sixty_thousand_workers() {
  return replaced(relocated_scenario("scenarios/fmnist/lan-ssgd-1024.xml"), R"(count="1024")", R"(count="60000")");
}

TEST(BadInputAudit, WorkersBeyondTheAddressSpace) {
  expect_refused({"", {{"s.xml", sixty_thousand_workers()}}, kRun + " --cfg contexts/guard-size:0", 2,
                  {"s.xml", "<workers"},
                  "60940 actor stacks of 8192 KiB need 511 GB of address space, above this process's limit"},
                 "ulimit -v 8000000 && ");
}

TEST(BadInputAudit, WorkersBeyondTheMapCount) {
  long limit = 0;
  std::ifstream("/proc/sys/vm/max_map_count") >> limit;
  if (limit <= 0 || limit > 100000) GTEST_SKIP() << "vm.max_map_count " << limit << " holds 60,940 guarded stacks";
  expect_refused({"", {{"s.xml", sixty_thousand_workers()}}, kRun, 2, {"s.xml", "<workers"},
                  "60940 actors (workers, helpers, the server and its broadcast senders) need about 121880 memory "
                  "mappings for their guarded stacks, and this process already holds"});
}

INSTANTIATE_TEST_SUITE_P(Issues10To15, BadInputAudit, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& param) { return param.param.name; });

}  // namespace
