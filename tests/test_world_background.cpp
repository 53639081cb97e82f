// Competing traffic: background flows share a link with a transfer under CM02 (forked children),
// and <background> in a scenario (hosts checked, bad input, determinism) through the binary.
#include "test_util.hpp"
#include "world/background.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simgrid/s4u.hpp>

using namespace dmlsim;
using namespace dmlsim::testutil;

namespace {

namespace sg4 = simgrid::s4u;

// Two hosts on one full-duplex link: 1 MB/s, 10 ms.
const std::string kTwoHosts = full_zone_platform(R"(<host id="a" speed="1Gf"/><host id="b" speed="1Gf"/>
<link id="ab" bandwidth="1MBps" latency="10ms" sharing_policy="SPLITDUPLEX"/>
<route src="a" dst="b"><link_ctn id="ab" direction="UP"/></route>
)");

constexpr double kLatency = 0.010, kBytes = 2e6;

// What goes down and comes back before the measured transfer starts: a link or a host, by name.
struct Outage {
  std::string link, host;
  double down = 0, up = 0;
};

void schedule(const Outage& outage) {
  if (outage.link.empty() && outage.host.empty()) return;
  sg4::Actor::create("outage", sg4::Engine::get_instance()->host_by_name("a"), [outage] {
    auto* link = outage.link.empty() ? nullptr : sg4::Link::by_name(outage.link);
    auto* host = outage.host.empty() ? nullptr : sg4::Host::by_name(outage.host);
    sg4::this_actor::sleep_until(outage.down);
    if (link) link->turn_off();
    if (host) host->turn_off();
    sg4::this_actor::sleep_until(outage.up);
    if (link) link->turn_on();
    if (host) host->turn_on();
  });
}

// Time a transfer of kBytes from a to b takes under CM02 (bandwidth factor 1, a TCP window so large
// it never binds: SimGrid drops rate caps when TCP-gamma is 0), alongside the given flows; the
// transfer starts at `start`, after `outage`.
double transfer_time(const std::filesystem::path& platform, const std::vector<BackgroundFlow>& flows,
                     const Outage& outage = {}, double start = 0) {
  return std::stod(in_child([&] {
    const auto owned = make_engine();
    auto& engine = *owned;
    for (const char* item : {"network/model:CM02", "network/TCP-gamma:1e12", "network/bandwidth-factor:1",
                             "network/latency-factor:1", "network/crosstraffic:0"})
      sg4::Engine::set_config(item);
    engine.load_platform(platform.string());
    std::vector<PlacedFlow> placed;
    for (const auto& flow : flows) placed.push_back({flow, engine.host_by_name(flow.from), engine.host_by_name(flow.to)});
    start_background(placed, 1);
    schedule(outage);
    double arrival = -1;
    sg4::Actor::create("sender", engine.host_by_name("a"), [&arrival, start] {
      sg4::this_actor::sleep_until(start);
      // Created now, so that an outage of b before the start does not end it.
      sg4::Actor::create("receiver", sg4::Host::by_name("b"), [&arrival] {
        sg4::Mailbox::by_name("box")->get<int>();
        arrival = sg4::Engine::get_clock();
      });
      static int payload = 0;
      sg4::Mailbox::by_name("box")->put(&payload, static_cast<std::uint64_t>(kBytes));
    });
    engine.run();
    return fmt::format("{:.17g}", arrival - start);
  }));
}

BackgroundFlow flow(const std::string& from, const std::string& to) {
  BackgroundFlow f;
  f.from = from;
  f.to = to;
  return f;
}

class WorldBackground : public ::testing::Test {
 protected:
  void SetUp() override { write_text(dir_ / "p.xml", kTwoHosts); }
  double rate_with(const std::vector<BackgroundFlow>& flows, const Outage& outage = {}, double start = 0) {
    return kBytes / (transfer_time(dir_ / "p.xml", flows, outage, start) - kLatency);
  }
  TempDir dir_;
};

TEST_F(WorldBackground, AGreedyFlowHalvesALoneTransfersRate) {
  const double lone = rate_with({});
  EXPECT_NEAR(lone, 1e6, 1e-6 * 1e6);
  EXPECT_NEAR(rate_with({flow("a", "b")}), lone / 2, 1e-6 * lone);
}

TEST_F(WorldBackground, ACappedFlowTakesItsRateAndLeavesTheRest) {
  auto capped = flow("a", "b");
  capped.rate = 0.25e6;
  EXPECT_NEAR(rate_with({capped}), 0.75e6, 1e-6 * 1e6);
}

TEST_F(WorldBackground, AFlowTheOtherWayLeavesAFullDuplexLinkAlone) {
  EXPECT_NEAR(rate_with({flow("b", "a")}), 1e6, 1e-6 * 1e6);
}

// An on/off flow slows the transfer less than a flow that is always on, and more than none.
TEST_F(WorldBackground, AnOnOffFlowSlowsLessThanAnAlwaysOnFlow) {
  auto on_off = flow("a", "b");
  on_off.on = 0.2;
  on_off.off = 0.2;
  const double rate = rate_with({on_off});
  EXPECT_LT(rate, 0.99e6);
  EXPECT_GT(rate, 0.51e6);
}

// A flow whose link goes down fails its transfer (SimGrid's NetworkFailureException), retries one
// second later and shares the link again once it is back; before, the exception ended the run.
TEST_F(WorldBackground, AFlowRetriesAfterItsLinkFailsAndSharesItOnceRepaired) {
  const double lone = rate_with({});
  EXPECT_NEAR(rate_with({flow("a", "b")}, Outage{"ab_UP", "", 0.5, 1.0}, 3.0), lone / 2, 1e-6 * lone);
  // Still retrying when the transfer starts (the link came back at 2.9 s, the retry is at 3.5 s).
  const double early = rate_with({flow("a", "b")}, Outage{"ab_UP", "", 2.5, 2.9}, 3.0);
  EXPECT_GT(early, lone / 2 * 1.01);
}

// The flow's receiver and sender come back with their hosts (daemons that restart).
TEST_F(WorldBackground, AFlowComesBackWithTheHostsItRunsOn) {
  const double lone = rate_with({});
  EXPECT_NEAR(rate_with({flow("a", "b")}, Outage{"", "b", 0.5, 1.0}, 3.0), lone / 2, 1e-6 * lone);
  EXPECT_NEAR(rate_with({flow("b", "a"), flow("a", "b")}, Outage{"", "b", 0.5, 1.0}, 3.0), lone / 2, 1e-6 * lone);
}

std::string scenario_with(const std::string& background) { return relocated_scenario("scenarios/wan/ma.xml", background); }

TEST_F(WorldBackground, AScenarioFlowSlowsLargeMessagesAndRerunsIdentically) {
  const auto scenario = dir_ / "background-scenario-test.xml";
  const std::string args = " --network-profile cm02 --set training.rounds=3 --set model.sim-parameters=1000000 --set model.sim-forward-flops=1000 -q -o ";
  write_text(scenario, scenario_with(R"(<background><flow from="us-east-5" to="eu-west-5"/><flow from="us-east-6" to="ap-northeast-6" on="0.5s" off="0.5s"/></background>)"));
  const auto first = run_dmlsim("run " + scenario.string() + args + (dir_ / "a").string());
  const auto again = run_dmlsim("run " + scenario.string() + args + (dir_ / "b").string());
  const auto without = run_dmlsim("run scenarios/wan/ma.xml" + args + (dir_ / "c").string());
  // Under the default profile's TCP connection model too (it follows each transfer's windows, so
  // a flow is a sequence of finite transfers).
  const auto tcp_model = run_dmlsim("run " + scenario.string() + args.substr(args.find(" --set")) + (dir_ / "d").string());
  EXPECT_EQ(tcp_model.exit_code, 0) << tcp_model.out;
  ASSERT_EQ(first.exit_code, 0) << first.out;
  ASSERT_EQ(without.exit_code, 0) << without.out;
  EXPECT_EQ(read_text(dir_ / "a/rounds.csv"), read_text(dir_ / "b/rounds.csv"));
  EXPECT_NE(read_text(dir_ / "a/rounds.csv"), read_text(dir_ / "c/rounds.csv"));
}

TEST_F(WorldBackground, RejectsBadFlows) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(<flow from="us-east-5" to="nowhere"/>)", "host 'nowhere' is not in platform"},
      {R"(<flow from="us-east-5" to="us-east-5"/>)", "starts and ends on host"},
      {R"(<flow from="us-east-5" to="eu-west-5" rate="100"/>)", "needs a unit"},
      {R"(<flow from="us-east-5" to="eu-west-5" on="1s"/>)", "on and off go together"},
      {R"(<flow from="us-east-5" to="eu-west-5" on="0s" off="1s"/>)", "must be positive"},
      {R"(<flow from="us-east-5" to="eu-west-5" speed="1Gbps"/>)", "speed"},
      {R"(<stream/>)", "expected <flow>"},
      {"", "at least one <flow>"}};
  const auto scenario = dir_ / "background-bad-test.xml";
  for (const auto& [flow_text, message] : cases) {
    write_text(scenario, scenario_with("  <background>\n" + flow_text + "</background>"));
    const auto r = run_dmlsim("validate " + scenario.string());
    EXPECT_EQ(r.exit_code, 2) << flow_text << r.out;
    EXPECT_NE(r.out.find("background-bad-test.xml:2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << flow_text << r.out;
  }
  // A rate cap needs a finite TCP window (the shipped profiles lift it: TCP-gamma 0).
  write_text(scenario, scenario_with(R"(<background><flow from="us-east-5" to="eu-west-5" rate="100Mbps"/></background>)"));
  const auto capped = run_dmlsim("validate " + scenario.string() + " --cfg network/TCP-gamma:1e12");
  const auto lifted = run_dmlsim("validate " + scenario.string() + " --network-profile cm02");
  EXPECT_EQ(capped.exit_code, 0) << capped.out;
  EXPECT_EQ(lifted.exit_code, 2) << lifted.out;
  EXPECT_NE(lifted.out.find("ignores a rate cap when network/TCP-gamma is 0"), std::string::npos) << lifted.out;
}

}  // namespace
