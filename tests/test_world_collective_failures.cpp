// Failures on the hierarchical and tree topologies (sim/topology/resilient_collective.cpp), through
// the binary on platforms the test writes, under bare CM02 with no compute and no headers: the round
// of a death has its analytic time (the survivors give up on their timeouts, then the shape rebuilt
// over them runs), the rebuilt shapes train the same model as the star with the same failure (to
// 1e-12: a dead member, a dead leader or inner node, a whole zone lost, a worker coming back), a
// zone cut off by a link drops out as if its hosts were down, and random failures rerun
// byte-identically.
#include "test_util.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace dmlsim::testutil;
namespace fs = std::filesystem;

namespace {

constexpr double kBytes = 120000 * 8;  // the vector: 120000 simulated parameters
constexpr double kTimeout = 0.5;       // s
// Inside a zone (and on the tree's mesh): 1 ms, 100 MB/s; between zones: 50 ms, 10 MB/s.
constexpr double kLanLatency = 0.001, kLanBandwidth = 100e6;
constexpr double kWanLatency = 0.050, kWanBandwidth = 10e6;

// A full mesh of `hosts` hosts "<zone>h<i>" in zone `zone`, on LAN links.
std::string mesh_zone(const std::string& zone, int hosts) {
  std::string out = fmt::format("<zone id=\"{}\" routing=\"Full\">\n", zone), links, routes;
  for (int i = 0; i < hosts; ++i) out += fmt::format(R"(<host id="{}h{}" speed="1Ef"/>)", zone, i) + "\n";
  for (int a = 0; a < hosts; ++a)
    for (int b = a + 1; b < hosts; ++b) {
      const auto link = fmt::format("{}-{}-{}", zone, a, b);
      links += fmt::format(R"(<link id="{}" bandwidth="100MBps" latency="1ms" sharing_policy="SPLITDUPLEX"/>)", link) + "\n";
      routes += both_ways("route", fmt::format("{}h{}", zone, a), fmt::format("{}h{}", zone, b), link);
    }
  return out + links + routes + "</zone>\n";
}

// Zones "z0", "z1" of two hosts each and "zs" holding the star's server "zsh0", every pair of zones
// joined by its own WAN link between their first hosts.
std::string zoned_platform() {
  const std::vector<std::string> zones = {"z0", "z1", "zs"};
  std::string out = "<?xml version=\"1.0\"?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
                    "<platform version=\"4.1\"><zone id=\"world\" routing=\"Full\">\n";
  for (const auto& zone : zones) out += mesh_zone(zone, zone == "zs" ? 1 : 2);
  std::string links, routes;
  for (std::size_t a = 0; a < zones.size(); ++a)
    for (std::size_t b = a + 1; b < zones.size(); ++b) {
      const auto link = fmt::format("wan-{}-{}", zones[a], zones[b]);
      links += fmt::format(R"(<link id="{}" bandwidth="10MBps" latency="50ms" sharing_policy="SPLITDUPLEX"/>)", link) + "\n";
      routes += both_ways("zoneRoute", zones[a], zones[b], link);
    }
  return out + links + routes + "</zone></platform>\n";
}

// The tree's platform: one zone, every pair of "mh0".."mh4" on its own LAN link ("mh4" the server).
std::string mesh_platform() {
  return "<?xml version=\"1.0\"?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
         "<platform version=\"4.1\">" + mesh_zone("m", 5) + "</platform>\n";
}

class CollectiveFailures : public ::testing::Test {
 public:
  void SetUp() override {
    write_text(dir_ / "zoned.xml", zoned_platform());
    write_text(dir_ / "mesh.xml", mesh_platform());
  }

  using Run = SavedRun;

  // `topology` as a <topology> element (the star when empty), 4 workers. Hierarchical runs on the
  // zoned platform (workers z0h0, z0h1, z1h0, z1h1), the tree on the mesh (mh0..mh3).
  Run run(const std::string& name, const std::string& platform, const std::string& topology, int rounds,
          const std::string& failures) {
    const bool zoned = platform == "zoned";
    FailureScenario scenario{"collective-failures", platform + ".xml", zoned ? "z0h0,z0h1,z1h0,z1h1" : "mh0,mh1,mh2,mh3",
                             topology.empty() ? fmt::format(R"(<server host="{}"/>)", zoned ? "zsh0" : "mh4") : topology,
                             failures, rounds};
    return run_failure_scenario(dir_.path(), name, scenario);
  }

  // Hierarchical over the zones, 6 rounds, `host` down for good as round 3 starts.
  Run run_hierarchical(const std::string& host) {
    return run("analytic", "zoned", R"(<topology kind="hierarchical"/>)", 6,
               fmt::format(R"(<failures timeout="{}s"><host name="{}" round="3"/></failures>)", kTimeout, host));
  }

  static std::vector<double> column(const fs::path& out, const std::string& name) { return rounds_column(out, name); }

  static nlohmann::json failures(const Run& r) {
    return nlohmann::json::parse(read_text(r.out / "summary.json"))["failures"];
  }

  // The run on `topology` and the star with the same failure aggregate the same workers each round
  // and end with the same weights.
  void expect_the_stars_model(const std::string& platform, const std::string& topology, const std::string& failure) {
    const auto shaped = run("shaped", platform, topology, 12, failure);
    const auto star = run("star", platform, "", 12, failure);
    ASSERT_EQ(shaped.result.exit_code, 0) << shaped.result.out;
    ASSERT_EQ(star.result.exit_code, 0) << star.result.out;
    const auto participants = column(shaped.out, "participants");
    ASSERT_EQ(participants, column(star.out, "participants")) << failure;
    EXPECT_TRUE(std::any_of(participants.begin(), participants.end(), [](double p) { return p < 4; })) << failure;
    const dmlsim::Vector a = read_weights(shaped.out / "weights.csv");
    const dmlsim::Vector b = read_weights(star.out / "weights.csv");
    ASSERT_EQ(a.size(), b.size());
    EXPECT_LE((a - b).cwiseAbs().maxCoeff(), 1e-12 * std::max(1.0, b.cwiseAbs().maxCoeff())) << failure;
  }

  void expect_random_failures_rerun_identically(const std::string& platform, const std::string& topology) {
    const auto failure = R"(<failures timeout="0.2s"><random mtbf="1.5s" mttr="0.4s"/></failures>)";
    const auto a = run("random-a", platform, topology, 40, failure);
    const auto b = run("random-b", platform, topology, 40, failure);
    ASSERT_EQ(a.result.exit_code, 0) << a.result.out;
    ASSERT_EQ(b.result.exit_code, 0) << b.result.out;
    EXPECT_EQ(read_text(a.out / "rounds.csv"), read_text(b.out / "rounds.csv"));
    EXPECT_EQ(read_text(a.out / "weights.csv"), read_text(b.out / "weights.csv"));
    EXPECT_EQ(failures(a).dump(), failures(b).dump());
    EXPECT_GE(failures(a)["events"].size(), 2u);
  }

  TempDir dir_;
};

constexpr auto kHierarchical = R"(<topology kind="hierarchical"/>)";
constexpr auto kHierarchicalStar = R"(<topology kind="hierarchical" across="star"/>)";
constexpr auto kTree = R"(<topology kind="tree"/>)";

// The whole vector over a LAN link; a half over the WAN link (a step of the leaders' ring of 2),
// plus `lan_links` LAN latencies on the way to or from a zone's gateway host.
double lan_hop() { return kLanLatency + kBytes / kLanBandwidth; }
double wan_half_hop(int lan_links = 0) { return kWanLatency + lan_links * kLanLatency + kBytes / 2 / kWanBandwidth; }

// Zones z0 = {z0h0, z0h1} and z1 = {z1h0, z1h1}: a round is a LAN hop up, the leaders' ring of 2
// (two WAN half-vectors), a LAN hop down.
double full_round() { return 2 * lan_hop() + 2 * wan_half_hop(); }
// When zone z1 is one member, it sends its first chunk as the round starts, and z0h0's receive (a
// SimGrid mailbox matches receives to sends in the order the sends were posted) waits for that chunk
// before it takes z0h1's vector, already there: the ring starts a WAN half-hop in, and takes two
// more; then the LAN hop down. `lan_links`: the LAN links between z1's member and z1's gateway.
double lone_zone_round(int lan_links) { return 3 * wan_half_hop(lan_links) + lan_hop(); }

// `host` of zone z1 dies as round 3 starts; the other member of z1 then leads it alone, `lan_links`
// LAN links from z1's gateway: the rounds before last full_round(), the round of the death the
// timeout plus a lone zone's round (its timing below), the rounds after it a lone zone's round.
void expect_lone_zone_after(CollectiveFailures& test, const std::string& host, int lan_links) {
  const auto r = test.run_hierarchical(host);
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto time = CollectiveFailures::column(r.out, "sim_time");
  ASSERT_EQ(time.size(), 7u);
  EXPECT_NEAR(time[2] - time[1], full_round(), 1e-9);
  EXPECT_NEAR(time[3] - time[2], kTimeout + lone_zone_round(lan_links), 1e-9);
  EXPECT_NEAR(time[4] - time[3], lone_zone_round(lan_links), 1e-9);
  EXPECT_EQ(CollectiveFailures::column(r.out, "participants"), (std::vector<double>{4, 4, 4, 3, 3, 3, 3}));
  const auto f = CollectiveFailures::failures(r);
  ASSERT_EQ(f["events"].size(), 1u);
  EXPECT_EQ(f["events"][0]["target"], host);
  EXPECT_EQ(f["events"][0]["rounds_cost"], 4);
  EXPECT_GT(f["events"][0]["rows_missed"].get<int>(), 0);
}

// Member z1h1 (worker 3) dies: its leader z1h0 gives up after the timeout and starts the exchange
// without it, leading z1 alone; z0h0 and z0h1, whose zone reduce took a LAN hop, give up a hop
// later, and z0h0's first receive of the new attempt waits for z1h0's chunk, sent a hop earlier
// still: the rest is a lone zone's round.
TEST_F(CollectiveFailures, HierarchicalRoundOfAMembersDeathIsTheTimeoutAndTheZonesWithoutIt) {
  expect_lone_zone_after(*this, "z1h1", 0);
}

// Leader z1h0 (worker 2) dies: z1h1's vector is lost, and z1h1 gives up after the timeout waiting
// for the broadcast; then it leads z1 alone, as above, its messages crossing the LAN link to z1's
// gateway host z1h0 (in SimGrid a route is its links: the host being down cuts nothing).
TEST_F(CollectiveFailures, HierarchicalZoneWhoseLeaderDiesIsLedByItsNextMember) {
  expect_lone_zone_after(*this, "z1h0", 1);
}

TEST_F(CollectiveFailures, HierarchicalTrainsTheStarsModel) {
  for (const auto& topology : {kHierarchical, kHierarchicalStar})
    for (const std::string events : {R"(<host name="z1h1" round="3"/>)",                     // a member
                                     R"(<host name="z1h0" round="3" for="0.3s"/>)",          // a leader, back
                                     R"(<host name="z0h0" round="3"/><host name="z0h1" round="5"/>)"})  // a zone
      expect_the_stars_model("zoned", topology, fmt::format(R"(<failures timeout="{}s">{}</failures>)", kTimeout, events));
}

TEST_F(CollectiveFailures, HierarchicalRandomFailuresRerunIdentically) {
  expect_random_failures_rerun_identically("zoned", kHierarchical);
}

// Binary tree over mh0..mh3: mh0 the root, children mh1 and mh2, mh3 under mh1. The inner node mh1
// dies as round 3 starts: mh3 sends to nobody and gives up first (a timeout waiting for the
// broadcast); mh0, which got mh2's vector a hop in, and mh2 give up a timeout after that hop. The
// tree over mh0, mh2, mh3 has mh2 and mh3 under the root: mh3's vector is already there, mh2's takes
// a hop, the broadcast a hop.
TEST_F(CollectiveFailures, TreeRoundOfAnInnerNodesDeathIsTheTimeoutAndTheRebuiltTree) {
  const auto r = run("tree", "mesh", kTree, 6,
                     fmt::format(R"(<failures timeout="{}s"><host name="mh1" round="3"/></failures>)", kTimeout));
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto time = column(r.out, "sim_time");
  ASSERT_EQ(time.size(), 7u);
  EXPECT_NEAR(time[2] - time[1], 4 * lan_hop(), 1e-9);  // depth 2
  EXPECT_NEAR(time[3] - time[2], kTimeout + 3 * lan_hop(), 1e-9);
  EXPECT_NEAR(time[4] - time[3], 2 * lan_hop(), 1e-9);  // depth 1
  EXPECT_EQ(column(r.out, "participants"), (std::vector<double>{4, 4, 4, 3, 3, 3, 3}));
  EXPECT_EQ(failures(r)["events"][0]["rounds_cost"], 4);
}

TEST_F(CollectiveFailures, TreeTrainsTheStarsModel) {
  for (const std::string events : {R"(<host name="mh1" round="3"/>)",                // an inner node
                                   R"(<host name="mh0" round="3" for="0.3s"/>)",     // the root, back
                                   R"(<host name="mh3" round="3"/>)"})               // a leaf
    expect_the_stars_model("mesh", kTree, fmt::format(R"(<failures timeout="{}s">{}</failures>)", kTimeout, events));
  expect_the_stars_model("mesh", R"(<topology kind="tree" shape="binomial"/>)",
                         fmt::format(R"(<failures timeout="{}s"><host name="mh2" round="4"/></failures>)", kTimeout));
}

TEST_F(CollectiveFailures, TreeRandomFailuresRerunIdentically) { expect_random_failures_rerun_identically("mesh", kTree); }

// The WAN link between the two zones goes down for good: the zones cannot reach each other, and
// z0 (worker order breaks the tie) goes on alone; the model is the star's that loses z1's hosts.
TEST_F(CollectiveFailures, HierarchicalZoneCutOffByALinkDropsOutAsIfItsHostsWereDown) {
  const auto cut = run("cut", "zoned", kHierarchical, 8,
                       fmt::format(R"(<failures timeout="{}s"><link name="wan-z0-z1" round="3"/></failures>)", kTimeout));
  const auto star = run("star", "zoned", "", 8,
                        fmt::format(R"(<failures timeout="{}s"><host name="z1h0" round="3"/><host name="z1h1" round="3"/></failures>)",
                                    kTimeout));
  ASSERT_EQ(cut.result.exit_code, 0) << cut.result.out;
  ASSERT_EQ(star.result.exit_code, 0) << star.result.out;
  EXPECT_EQ(column(cut.out, "participants"), (std::vector<double>{4, 4, 4, 2, 2, 2, 2, 2, 2}));
  EXPECT_EQ(column(cut.out, "participants"), column(star.out, "participants"));
  const dmlsim::Vector a = read_weights(cut.out / "weights.csv");
  const dmlsim::Vector b = read_weights(star.out / "weights.csv");
  EXPECT_LE((a - b).cwiseAbs().maxCoeff(), 1e-12 * std::max(1.0, b.cwiseAbs().maxCoeff()));
  EXPECT_EQ(failures(cut)["missed_per_worker"], nlohmann::json::array({0, 0, 6, 6}));
  EXPECT_EQ(failures(cut)["workers_out_at_end"], failures(star)["workers_out_at_end"]);
}

// Without a server, a link must be on a route between two workers.
TEST_F(CollectiveFailures, ALinkBetweenNoTwoWorkersIsRefused) {
  const auto r = run("link", "zoned", kHierarchical, 5, R"(<failures timeout="1s">
    <link name="wan-z0-zs" at="1s"/></failures>)");
  EXPECT_EQ(r.result.exit_code, 2) << r.result.out;
  EXPECT_NE(r.result.out.find("link.xml:13"), std::string::npos) << r.result.out;
  EXPECT_NE(r.result.out.find("link 'wan-z0-zs' is on no route between two workers"), std::string::npos) << r.result.out;
  EXPECT_FALSE(fs::exists(r.out));
}

}  // namespace
