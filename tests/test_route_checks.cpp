// Every topology checks, before the clock starts, that the platform routes each pair of hosts its
// messages travel between (SimGrid aborts on a send without a route): a missing route is exit 2 at
// the <topology> line, naming the two actors and their hosts, and nothing is written.
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

using namespace dmlsim;
using testutil::TempDir;

namespace {

// Hosts "server", w0 … w3; `routes` lists the routed pairs, each on its own link.
std::string full_platform(const std::vector<std::pair<std::string, std::string>>& routes) {
  std::string body = R"(<host id="server" speed="1Gf"/>)";
  for (int k = 0; k < 4; ++k) body += fmt::format(R"(<host id="w{}" speed="1Gf"/>)", k);
  for (std::size_t i = 0; i < routes.size(); ++i)
    body += fmt::format(R"(<link id="l{}" bandwidth="100MBps" latency="5ms"/>)", i);
  for (std::size_t i = 0; i < routes.size(); ++i)
    body += fmt::format(R"(<route src="{}" dst="{}"><link_ctn id="l{}"/></route>)", routes[i].first, routes[i].second, i);
  return "<?xml version=\"1.0\"?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
         "<platform version=\"4.1\"><zone id=\"flat\" routing=\"Full\">" + body + "</zone></platform>\n";
}

// The server and every worker routed to each other, except the pairs in `missing`.
std::string platform_without(const std::vector<std::pair<std::string, std::string>>& missing) {
  const std::vector<std::string> hosts = {"server", "w0", "w1", "w2", "w3"};
  std::vector<std::pair<std::string, std::string>> routes;
  for (std::size_t i = 0; i < hosts.size(); ++i)
    for (std::size_t j = i + 1; j < hosts.size(); ++j)
      if (std::find(missing.begin(), missing.end(), std::make_pair(hosts[i], hosts[j])) == missing.end())
        routes.emplace_back(hosts[i], hosts[j]);
  return full_platform(routes);
}

// Two datacenter zones: "a" holds the server, w0 and w1, "b" holds w2 and w3, joined by one WAN
// link between their routers. Inside "a" only the server reaches w0 and w1 (w0 and w1 do not
// reach each other); inside "b" everything is routed.
std::string two_zone_platform_without_a_zone_route() {
  const auto zone = [](const std::string& id, const std::vector<std::string>& hosts,
                       const std::vector<std::pair<std::string, std::string>>& routes) {
    std::string body;
    for (const auto& h : hosts) body += fmt::format(R"(<host id="{}" speed="1Gf"/>)", h);
    body += fmt::format(R"(<router id="router-{}"/>)", id);
    std::vector<std::pair<std::string, std::string>> all = routes;
    for (const auto& h : hosts) all.emplace_back(h, "router-" + id);
    for (std::size_t i = 0; i < all.size(); ++i) body += fmt::format(R"(<link id="{}-l{}" bandwidth="1GBps" latency="1ms"/>)", id, i);
    for (std::size_t i = 0; i < all.size(); ++i)
      body += fmt::format(R"(<route src="{}" dst="{}"><link_ctn id="{}-l{}"/></route>)", all[i].first, all[i].second, id, i);
    return fmt::format(R"(<zone id="{}" routing="Full">{}</zone>)", id, body);
  };
  return "<?xml version=\"1.0\"?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
         "<platform version=\"4.1\"><zone id=\"world\" routing=\"Full\">" +
         zone("a", {"server", "w0", "w1"}, {{"server", "w0"}, {"server", "w1"}}) + zone("b", {"w2", "w3"}, {{"w2", "w3"}}) +
         R"(<link id="wan" bandwidth="100MBps" latency="40ms"/>)"
         R"(<zoneRoute src="a" dst="b" gw_src="router-a" gw_dst="router-b"><link_ctn id="wan"/></zoneRoute>)"
         "</zone></platform>\n";
}

// A 4-worker breast-cancer scenario on platform.xml with the given algorithm and topology.
std::filesystem::path write_scenario(const TempDir& dir, const std::string& algorithm, const std::string& topology,
                                     const std::string& server = "server") {
  const auto data = testutil::source_dir() / "data";
  testutil::write_text(dir / "s.xml", fmt::format(R"(<scenario name="routes" seed="1">
  <platform file="platform.xml"/>
  <network model="CM02"/>
  <data train="{0}/breast_cancer_seed_train.csv" test="{0}/breast_cancer_seed_test.csv" label="target" standardize="true"/>
  <workers count="4" placement="hosts" hosts="w0,w1,w2,w3"/>
  <server host="{1}"/>
  {2}
  {3}
  <training rounds="5"/>
</scenario>
)", data.string(), server, topology, algorithm));
  return dir / "s.xml";
}

const std::string kSsgd = R"(<algorithm name="ssgd" eta="0.1"/>)";

// Runs the scenario: exit 2, `message` at the <topology> line (line 7 of write_scenario's file,
// the scenario's first line when it has no <topology>), nothing written.
void expect_missing_route(const TempDir& dir, const std::string& platform, const std::string& algorithm,
                          const std::string& topology, const std::string& message, const std::string& server = "server") {
  testutil::write_text(dir / "platform.xml", platform);
  const auto scenario = write_scenario(dir, algorithm, topology, server);
  const auto out = dir / "never";
  const auto result = testutil::run_dmlsim(fmt::format("run -q {} --out {}", scenario.string(), out.string()));
  EXPECT_EQ(result.exit_code, 2) << topology << "\n" << result.out;
  const std::string where = topology.empty() ? "s.xml:1: <topology>: " : "s.xml:7: <topology>: ";
  EXPECT_NE(result.out.find(where + message + ", which the platform does not connect (no route)"), std::string::npos)
      << topology << "\n" << result.out;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace

TEST(RouteChecks, RingAllreduceNeedsEachWorkerToReachTheNext) {
  TempDir dir;
  expect_missing_route(dir, platform_without({{"w1", "w2"}}), kSsgd, R"(<topology kind="ring-allreduce"/>)",
                       "ring neighbours 1 and 2 run on hosts w1 and w2");
  // The ring closes: the last worker sends to the first.
  expect_missing_route(dir, platform_without({{"w0", "w3"}}), kSsgd, R"(<topology kind="ring-allreduce"/>)",
                       "ring neighbours 3 and 0 run on hosts w3 and w0");
}

TEST(RouteChecks, TreeNeedsEachParentToReachItsChildren) {
  TempDir dir;
  // Binary heap order: worker 1's children are 3 (and 4, absent); worker 0's are 1 and 2.
  expect_missing_route(dir, platform_without({{"w1", "w3"}}), kSsgd, R"(<topology kind="tree" arity="2"/>)",
                       "tree parent 1 and child 3 run on hosts w1 and w3");
  // Binomial: 0's children are 1 and 2, 2's is 3.
  expect_missing_route(dir, platform_without({{"w2", "w3"}}), kSsgd, R"(<topology kind="tree" shape="binomial"/>)",
                       "tree parent 2 and child 3 run on hosts w2 and w3");
}

TEST(RouteChecks, HierarchicalNeedsEachZoneLeaderToReachItsZone) {
  TempDir dir;
  expect_missing_route(dir, two_zone_platform_without_a_zone_route(), kSsgd, R"(<topology kind="hierarchical"/>)",
                       "zone leader 0 and child 1 run on hosts w0 and w1");
}

TEST(RouteChecks, StreamingRingNeedsEachWorkerToReachTheNext) {
  TempDir dir;
  expect_missing_route(dir, platform_without({{"w2", "w3"}}),
                       R"(<algorithm name="streaming-diloco" eta="0.1" local-steps="4" fragments="2" overlap="1"/>)",
                       R"(<topology kind="ring-allreduce"/>)", "ring neighbours 2 and 3 run on hosts w2 and w3");
}

TEST(RouteChecks, StarsNeedTheServerToReachEveryWorker) {
  TempDir dir;
  expect_missing_route(dir, platform_without({{"server", "w2"}}), kSsgd, "",
                       "the server and worker 2 run on hosts server and w2");
  expect_missing_route(dir, platform_without({{"server", "w0"}}), R"(<algorithm name="asgd" eta="0.1"/>)", "",
                       "the server and worker 0 run on hosts server and w0");
}

TEST(RouteChecks, GossipNeedsEveryPairOfNeighbours) {
  TempDir dir;
  expect_missing_route(dir, platform_without({{"w1", "w2"}}), R"(<algorithm name="dpsgd" eta="0.1"/>)",
                       R"(<topology kind="gossip" graph="ring"/>)", "gossip neighbours 1 and 2 run on hosts w1 and w2");
}

TEST(RouteChecks, RoutedPlatformsRunEveryTopology) {
  TempDir dir;
  testutil::write_text(dir / "platform.xml", platform_without({}));
  for (const std::string topology : {R"(<topology kind="ring-allreduce"/>)", R"(<topology kind="tree" arity="2"/>)", ""}) {
    const auto scenario = write_scenario(dir, kSsgd, topology);
    const auto result = testutil::run_dmlsim(fmt::format("run -q {} --out {}", scenario.string(), (dir / "ok").string()));
    EXPECT_EQ(result.exit_code, 0) << topology << "\n" << result.out;
    EXPECT_TRUE(std::filesystem::exists(dir / "ok" / "summary.json")) << topology;
    std::filesystem::remove_all(dir / "ok");
  }
}
