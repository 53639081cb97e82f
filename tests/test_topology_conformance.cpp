// The conformance suite every topology passes. On tiny contention-free platforms written here (a
// full mesh: every pair of hosts has its own full-duplex link, latency L, bandwidth B) under bare
// CM02 (TCP-gamma 0), with no compute (a model profile of 0 FLOPs) and no headers, one round takes
// exactly the formula of ALGORITHMS.md: star 2(L + S/B), ring 2(K-1)(L + S/(KB)), tree
// 2·depth·(L + S/B); hierarchical, on zones joined by WAN links between their leaders, 2 in-zone
// hops + the leaders' ring (2(Z-1) chunk steps) or star (2 WAN hops). On those and on the shipped
// geo platform: the exact message count and byte
// split per round; per worker compute + communication + waiting = simulated time; byte-identical
// reruns; and the same weights, bit for bit, on every topology for SSGD, MA, BMUF and EASGD.
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace dmlsim::testutil;
namespace fs = std::filesystem;

namespace {

constexpr double kLatency = 0.010;      // s
constexpr double kBandwidth = 100e6;    // B/s
constexpr std::uint64_t kParameters = 120000;  // simulated; divisible by every K used here

// The server "s" and workers "w0".."w{K-1}", every pair joined by its own link.
std::string mesh_platform(int workers) {
  std::vector<std::string> hosts = {"s"};
  for (int k = 0; k < workers; ++k) hosts.push_back(fmt::format("w{}", k));
  std::string body;
  for (const auto& h : hosts) body += fmt::format(R"(<host id="{}" speed="1Ef"/>)", h) + "\n";
  std::string routes;
  for (std::size_t a = 0; a < hosts.size(); ++a)
    for (std::size_t b = a + 1; b < hosts.size(); ++b) {
      const auto link = hosts[a] + "-" + hosts[b];
      body += fmt::format(R"(<link id="{}" bandwidth="100MBps" latency="10ms" sharing_policy="SPLITDUPLEX"/>)", link) + "\n";
      routes += both_ways("route", hosts[a], hosts[b], link);
    }
  return "<?xml version=\"1.0\"?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
         "<platform version=\"4.1\"><zone id=\"mesh\" routing=\"Full\">\n" + body + routes + "</zone></platform>\n";
}

std::string data_attributes() {
  const auto data = source_dir() / "data";
  return fmt::format(R"(train="{}" test="{}" label="target" standardize="true")",
                     (data / "breast_cancer_seed_train.csv").string(), (data / "breast_cancer_seed_test.csv").string());
}

// `workers` workers on the mesh, `topology` as a <topology> element (may be empty), 3 rounds.
std::string mesh_scenario(int workers, const std::string& topology, const std::string& algorithm = R"(name="ma" eta="0.1")") {
  std::string names;
  for (int k = 0; k < workers; ++k) names += fmt::format("{}w{}", k ? "," : "", k);
  return fmt::format(R"(<?xml version="1.0"?>
<scenario name="mesh">
  <platform file="mesh.xml"/>
  <network model="CM02"><config name="network/crosstraffic" value="0"/></network>
  <data {}/>
  <model type="logistic" sim-parameters="{}" sim-forward-flops="0"/>
  <workers count="{}" hosts="{}"/>
  <server host="s"/>
  {}
  <algorithm {}/>
  <training rounds="3" header-bytes="0"/>
</scenario>
)", data_attributes(), kParameters, workers, names, topology, algorithm);
}

struct RunOutput {
  std::vector<std::vector<std::string>> rows;  // rounds.csv, header first
  nlohmann::json summary;
  std::string rounds_text, weights_text;
};

RunOutput run(const fs::path& scenario, const fs::path& out, const std::string& extra = "") {
  const auto result = run_dmlsim(fmt::format("run -q --save-weights {} {} --out {}", scenario.string(), extra, out.string()));
  EXPECT_EQ(result.exit_code, 0) << result.out;
  RunOutput r;
  if (result.exit_code != 0) return r;
  r.rounds_text = read_text(out / "rounds.csv");
  r.weights_text = read_text(out / "weights.csv");
  r.summary = nlohmann::json::parse(read_text(out / "summary.json"));
  std::istringstream in(r.rounds_text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    r.rows.push_back(cells);
  }
  return r;
}

double cell(const RunOutput& r, std::size_t row, const std::string& column) {
  const auto& header = r.rows.front();
  const auto i = static_cast<std::size_t>(std::find(header.begin(), header.end(), column) - header.begin());
  return std::stod(r.rows.at(row + 1).at(i));
}

// Checks every round of a mesh run: its duration, its messages and its bytes (all intra-zone).
void expect_rounds(const RunOutput& r, double round_time, double messages, double bytes) {
  ASSERT_EQ(r.rows.size(), 5u);  // header, rounds 0..3
  for (std::size_t round = 1; round <= 3; ++round) {
    const double duration = cell(r, round, "sim_time") - cell(r, round - 1, "sim_time");
    EXPECT_NEAR(duration, round_time, 1e-9 * round_time) << "round " << round;
    EXPECT_EQ(cell(r, round, "messages_sent") - cell(r, round - 1, "messages_sent"), messages) << "round " << round;
    EXPECT_EQ(cell(r, round, "bytes_sent") - cell(r, round - 1, "bytes_sent"), bytes) << "round " << round;
  }
  EXPECT_EQ(cell(r, 3, "bytes_inter_zone"), 0);
}

// Per worker, the three parts of its time add up to the run's simulated time.
void expect_time_accounted(const nlohmann::json& summary) {
  const double total = summary["result"]["sim_time"];
  for (const auto& w : summary["time_breakdown"]["workers"]) {
    const double sum = w["compute_time"].get<double>() + w["comm_time"].get<double>() + w["wait_time"].get<double>();
    EXPECT_NEAR(sum, total, 1e-9 * total) << "worker " << w["worker"];
  }
}

class Conformance : public ::testing::Test {
 protected:
  RunOutput mesh_run(int workers, const std::string& topology, const std::string& extra = "") {
    write_text(dir_ / "mesh.xml", mesh_platform(workers));
    write_text(dir_ / "s.xml", mesh_scenario(workers, topology));
    return run(dir_ / "s.xml", dir_ / fmt::format("out-{}", runs_++), extra);
  }
  TempDir dir_;
  int runs_ = 0;
};

const double S = static_cast<double>(kParameters) * 8;  // whole vector, bytes

}  // namespace

TEST_F(Conformance, ParameterServerRoundIsTwoHops) {
  for (int k : {1, 4, 6}) {
    const auto r = mesh_run(k, "");
    expect_rounds(r, 2 * (kLatency + S / kBandwidth), 2 * k, 2 * k * S);
    expect_time_accounted(r.summary);
  }
}

TEST_F(Conformance, RingRoundIsTwoKMinusOneChunkSteps) {
  for (int k : {2, 4, 6}) {
    const auto r = mesh_run(k, R"(<topology kind="ring-allreduce"/>)");
    expect_rounds(r, 2 * (k - 1) * (kLatency + S / (k * kBandwidth)), 2 * (k - 1) * k, 2 * (k - 1) * S);
    expect_time_accounted(r.summary);
  }
}

TEST_F(Conformance, TreeRoundIsTwiceTheDepthInHops) {
  struct Case {
    std::string element;
    int workers, depth;
  };
  for (const auto& c : std::vector<Case>{{R"(<topology kind="tree"/>)", 4, 2},
                                         {R"(<topology kind="tree" arity="2"/>)", 7, 2},
                                         {R"(<topology kind="tree" arity="3"/>)", 5, 2},
                                         {R"(<topology kind="tree" arity="4"/>)", 5, 1},
                                         {R"(<topology kind="tree" shape="binomial"/>)", 8, 3}}) {
    const auto r = mesh_run(c.workers, c.element);
    expect_rounds(r, 2 * c.depth * (kLatency + S / kBandwidth), 2 * (c.workers - 1), 2 * (c.workers - 1) * S);
    expect_time_accounted(r.summary);
  }
}

namespace {

// Z zones of M hosts "z<z>h<i>", each zone a full mesh (L_in = 1 ms, 100 MB/s); zone z's first
// host is its gateway, joined to every other zone's by its own WAN link (50 ms, 10 MB/s). The
// zones' first workers are the hierarchy's leaders, so leader-to-leader messages take one WAN link.
std::string zoned_mesh_platform(int zones, int per_zone) {
  std::string out = "<?xml version=\"1.0\"?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
                    "<platform version=\"4.1\"><zone id=\"world\" routing=\"Full\">\n";
  for (int z = 0; z < zones; ++z) {
    std::string links, routes;
    out += fmt::format("<zone id=\"z{}\" routing=\"Full\">\n", z);
    for (int i = 0; i < per_zone; ++i) out += fmt::format(R"(<host id="z{}h{}" speed="1Ef"/>)", z, i) + "\n";
    for (int a = 0; a < per_zone; ++a)
      for (int b = a + 1; b < per_zone; ++b) {
        const auto link = fmt::format("z{}-{}-{}", z, a, b);
        links += fmt::format(R"(<link id="{}" bandwidth="100MBps" latency="1ms" sharing_policy="SPLITDUPLEX"/>)", link) + "\n";
        routes += both_ways("route", fmt::format("z{}h{}", z, a), fmt::format("z{}h{}", z, b), link);
      }
    out += links + routes + "</zone>\n";
  }
  std::string links, routes;
  for (int a = 0; a < zones; ++a)
    for (int b = a + 1; b < zones; ++b) {
      const auto link = fmt::format("wan-{}-{}", a, b);
      links += fmt::format(R"(<link id="{}" bandwidth="10MBps" latency="50ms" sharing_policy="SPLITDUPLEX"/>)", link) + "\n";
      routes += both_ways("zoneRoute", fmt::format("z{}", a), fmt::format("z{}", b), link);
    }
  return out + links + routes + "</zone></platform>\n";
}

}  // namespace

TEST_F(Conformance, HierarchicalRoundIsZoneHopsPlusTheLeadersExchange) {
  const int zones = 3, per_zone = 3, k = zones * per_zone;
  write_text(dir_ / "mesh.xml", zoned_mesh_platform(zones, per_zone));
  std::string hosts;
  for (int z = 0; z < zones; ++z)
    for (int i = 0; i < per_zone; ++i) hosts += fmt::format("{}z{}h{}", hosts.empty() ? "" : ",", z, i);
  auto text = mesh_scenario(k, R"(<topology kind="hierarchical"/>)");
  text.replace(text.find(R"(<server host="s"/>)"), 18, "");
  const auto from = text.find("hosts=\"") + 7;
  text.replace(from, text.find('"', from) - from, hosts);
  write_text(dir_ / "s.xml", text);
  const double in_zone = 2 * (0.001 + S / 100e6), wan_hop = 0.050 + S / 10e6;
  const double chunk_hop = 0.050 + S / (zones * 10e6);
  const auto ring = run(dir_ / "s.xml", dir_ / "ring");
  expect_time_accounted(ring.summary);
  const auto star = run(dir_ / "s.xml", dir_ / "star", "--set topology.across=star");
  expect_time_accounted(star.summary);
  for (std::size_t round = 1; round <= 3; ++round) {
    const double ring_round = in_zone + 2 * (zones - 1) * chunk_hop, star_round = in_zone + 2 * wan_hop;
    EXPECT_NEAR(cell(ring, round, "sim_time") - cell(ring, round - 1, "sim_time"), ring_round, 1e-9 * ring_round);
    EXPECT_NEAR(cell(star, round, "sim_time") - cell(star, round - 1, "sim_time"), star_round, 1e-9 * star_round);
  }
  // Inside the zones 2(K - Z) whole vectors; across, the leaders' ring moves the vector 2(Z-1) times
  // in chunks, the star 2(Z-1) whole vectors.
  EXPECT_EQ(cell(ring, 1, "messages_sent"), 2 * (k - zones) + 2 * (zones - 1) * zones);
  EXPECT_EQ(cell(ring, 1, "bytes_intra_zone"), 2 * (k - zones) * S);
  EXPECT_EQ(cell(ring, 1, "bytes_inter_zone"), 2 * (zones - 1) * S);
  EXPECT_EQ(cell(star, 1, "messages_sent"), 2 * (k - 1));
  EXPECT_EQ(cell(star, 1, "bytes_inter_zone"), 2 * (zones - 1) * S);
}

TEST_F(Conformance, ChunksOfAnIndivisibleVectorDifferByOneParameter) {
  // 120001 parameters over 4 workers: chunks of 30001, 30000, 30000, 30000; every parameter sent
  // 2(K-1) times in all.
  write_text(dir_ / "mesh.xml", mesh_platform(4));
  auto text = mesh_scenario(4, R"(<topology kind="ring-allreduce"/>)");
  text.replace(text.find("120000"), 6, "120001");
  write_text(dir_ / "s.xml", text);
  const auto r = run(dir_ / "s.xml", dir_ / "odd");
  EXPECT_EQ(cell(r, 1, "bytes_sent"), 2 * 3 * 120001 * 8);
  // The round is decided by the steps that carry the large chunk.
  EXPECT_GT(cell(r, 1, "sim_time"), 2 * 3 * (kLatency + 30000 * 8 / kBandwidth));
  EXPECT_LE(cell(r, 1, "sim_time"), 2 * 3 * (kLatency + 30001 * 8 / kBandwidth) * (1 + 1e-9));
}

TEST_F(Conformance, RerunsAreByteIdentical) {
  for (const char* topology : {"", R"(<topology kind="ring-allreduce"/>)", R"(<topology kind="tree"/>)"}) {
    const auto a = mesh_run(4, topology);
    const auto b = mesh_run(4, topology);
    EXPECT_EQ(a.rounds_text, b.rounds_text) << topology;
    EXPECT_EQ(a.weights_text, b.weights_text) << topology;
  }
}

namespace {

// The shipped geo platform, 12 workers (4 per region), every topology.
const std::vector<std::string> kGeoTopologies = {
    "parameter-server", "ring-allreduce", "tree", "tree --set topology.shape=binomial",
    "hierarchical", "hierarchical --set topology.across=star"};

RunOutput geo_run(const std::string& algorithm, const std::string& topology, const fs::path& out) {
  return run(source_dir() / "scenarios/wan" / (algorithm + ".xml"), out,
             "--set workers.count=12 --set training.rounds=20 --set topology.kind=" + topology);
}

}  // namespace

TEST(ConformanceGeo, EveryTopologyGivesTheSameWeightsForEveryAlgorithm) {
  TempDir dir;
  for (const char* algorithm : {"ssgd", "ma", "bmuf", "easgd"}) {
    const auto reference = geo_run(algorithm, kGeoTopologies.front(), dir / algorithm);
    ASSERT_FALSE(reference.weights_text.empty());
    for (std::size_t t = 1; t < kGeoTopologies.size(); ++t) {
      const auto other = geo_run(algorithm, kGeoTopologies[t], dir / fmt::format("{}-{}", algorithm, t));
      EXPECT_EQ(other.weights_text, reference.weights_text) << algorithm << " on " << kGeoTopologies[t];
      // Same model after every round: the accuracy and loss columns agree too.
      for (std::size_t row = 0; row + 1 < reference.rows.size(); ++row)
        EXPECT_EQ(cell(other, row, "test_loss"), cell(reference, row, "test_loss")) << algorithm << " round " << row;
    }
  }
}

TEST(ConformanceGeo, TimeIsAccountedAndOnlyLeadersCrossTheWan) {
  TempDir dir;
  const double whole = 31 * 8 + 64;  // 31 parameters (30 features + bias), 8 bytes each, 64-byte header
  for (std::size_t t = 0; t < kGeoTopologies.size(); ++t) {
    const auto r = geo_run("ma", kGeoTopologies[t], dir / std::to_string(t));
    expect_time_accounted(r.summary);
    const double inter = cell(r, 1, "bytes_inter_zone"), intra = cell(r, 1, "bytes_intra_zone");
    EXPECT_EQ(inter + intra, cell(r, 1, "bytes_sent"));
    if (kGeoTopologies[t] == "hierarchical") {
      // 3 leaders: a ring of 2·2 steps, each moving the 3 chunks of the vector (31 = 11 + 10 + 10).
      EXPECT_EQ(inter, 2 * 2 * (31 * 8 + 3 * 64));
      EXPECT_EQ(intra, 2 * 9 * whole);
      EXPECT_EQ(cell(r, 1, "messages_sent"), 2 * 9 + 2 * 2 * 3);
    }
    if (kGeoTopologies[t] == "hierarchical --set topology.across=star") {
      EXPECT_EQ(inter, 2 * 2 * whole);
      EXPECT_EQ(cell(r, 1, "messages_sent"), 2 * 11);
    }
    if (kGeoTopologies[t] == "parameter-server") {
      // The server is us-east-0: its 4 us-east workers stay inside, the 8 others cross.
      EXPECT_EQ(inter, 2 * 8 * whole);
      EXPECT_EQ(intra, 2 * 4 * whole);
    }
  }
}

namespace {

void expect_bad_topology(const std::string& topology, const std::string& message, bool with_server = true) {
  TempDir dir;
  write_text(dir / "mesh.xml", mesh_platform(3));
  auto text = mesh_scenario(3, topology);
  if (!with_server) text.replace(text.find(R"(<server host="s"/>)"), 18, "");
  write_text(dir / "s.xml", text);
  const auto result = run_dmlsim(fmt::format("run -q {} --out {}", (dir / "s.xml").string(), (dir / "out").string()));
  EXPECT_EQ(result.exit_code, 2) << result.out;
  EXPECT_NE(result.out.find(message), std::string::npos) << "expected '" << message << "' in:\n" << result.out;
  EXPECT_FALSE(fs::exists(dir / "out")) << "a rejected scenario must write nothing";
}

}  // namespace

TEST(TopologyBadInput, ExitTwoWithFileLineAttributeAndAllowedValues) {
  expect_bad_topology(R"(<topology kind="mesh"/>)",
                      "s.xml:9: <topology> attribute 'kind': unknown topology 'mesh' (allowed: parameter-server, "
                      "ring-allreduce, tree, hierarchical, gossip)");
  expect_bad_topology("", "s.xml:2: <topology> attribute 'kind': parameter-server needs a <server host=\"...\"/>", false);
  expect_bad_topology(R"(<topology kind="hierarchical"/>)",
                      "s.xml:9: <topology> attribute 'kind': hierarchical groups workers by zone, but platform");
  expect_bad_topology(R"(<topology kind="tree" arity="1"/>)", "s.xml:9: <topology> attribute 'arity'");
  expect_bad_topology(R"(<topology kind="hierarchical" across="mesh"/>)", "s.xml:9: <topology> attribute 'across'");
}

TEST(TopologyBadInput, ServerOptionalForTopologiesWithoutOne) {
  TempDir dir;
  write_text(dir / "mesh.xml", mesh_platform(3));
  auto text = mesh_scenario(3, R"(<topology kind="ring-allreduce"/>)");
  text.replace(text.find(R"(<server host="s"/>)"), 18, "");
  write_text(dir / "s.xml", text);
  const auto r = run(dir / "s.xml", dir / "out");
  EXPECT_TRUE(r.summary["server"]["host"].is_null());
  EXPECT_EQ(r.summary["topology"]["kind"], "ring-allreduce");
}

TEST(RunMonitorShared, BaselineStopsAndEvaluatesAsTheSimulatorDoes) {
  // The sequential driver (dmlsim baseline) runs under the same run monitor: with a target it
  // stops at the same round with the same accuracy, on any topology.
  TempDir dir;
  const std::string sets = " --set stop.target-accuracy=0.95 --set training.eval-every=2";
  const auto baseline = run_dmlsim("baseline scenarios/wan/ma.xml" + sets);
  ASSERT_EQ(baseline.exit_code, 0) << baseline.out;
  const auto line = nlohmann::json::parse(baseline.out.substr(baseline.out.find('{')));
  for (const char* topology : {"parameter-server", "tree"}) {
    const auto sim = run(source_dir() / "scenarios/wan/ma.xml", dir / topology, sets + " --set topology.kind=" + topology);
    EXPECT_EQ(sim.summary["result"]["stop_reason"], "target-accuracy");
    EXPECT_EQ(line["rounds"], sim.summary["result"]["rounds"]) << topology;
    EXPECT_EQ(line["final_accuracy"], sim.summary["result"]["final_accuracy"]) << topology;
  }
}
