// Simulations on tiny platforms, each in a forked child (SimGrid allows one engine per process).
#include "calibrate/sim_round.hpp"
#include "sim/network.hpp"
#include "sim/simulation.hpp"
#include "test_util.hpp"

#include <fmt/format.h>
#include <cmath>
#include <gtest/gtest.h>
#include <sstream>
#include <simgrid/s4u.hpp>

using namespace dmlsim;
using dmlsim::testutil::in_child;
using dmlsim::testutil::TempDir;
using dmlsim::testutil::write_text;

namespace {

namespace sg4 = simgrid::s4u;

// Two hosts joined by one link: full duplex (SPLITDUPLEX, as every host link of the shipped
// platforms) or half duplex (SHARED), where CM02 charges the flow's TCP ACKs (5 % of its rate,
// network/crosstraffic) on the same link.
std::string two_host_platform(const std::string& latency, const std::string& bandwidth, bool full_duplex = true) {
  return fmt::format(R"(<?xml version="1.0"?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<platform version="4.1">
  <zone id="z" routing="Full">
    <host id="a" speed="1Gf"/>
    <host id="b" speed="1Gf"/>
    <link id="ab" bandwidth="{}" latency="{}" sharing_policy="{}"/>
    <route src="a" dst="b"><link_ctn id="ab"{}/></route>
  </zone>
</platform>
)", bandwidth, latency, full_duplex ? "SPLITDUPLEX" : "SHARED", full_duplex ? R"( direction="UP")" : "");
}

// Simulated duration of one message of `bytes` from a to `to` under the given network.
double one_message_time(const std::filesystem::path& platform, const NetworkSetup& network, double bytes,
                        const std::string& to = "b") {
  const auto out = in_child([&] {
    int argc = 1;
    char name[] = "test";
    char* argv[] = {name, nullptr};
    sg4::Engine engine(&argc, argv);
    apply_network_config(network.config);
    engine.load_platform(platform.string());
    install_network_factors(network.factors);
    double arrival = -1;
    sg4::Actor::create("sender", engine.host_by_name("a"), [bytes] {
      static int payload = 0;
      sg4::Mailbox::by_name("box")->put(&payload, static_cast<std::uint64_t>(bytes));
    });
    sg4::Actor::create("receiver", engine.host_by_name(to), [&arrival] {
      sg4::Mailbox::by_name("box")->get<int>();
      arrival = sg4::Engine::get_clock();
    });
    engine.run();
    return fmt::format("{}", arrival);
  });
  return std::stod(out);
}

double one_message_time(const std::filesystem::path& platform, const ConfigList& config, double bytes) {
  return one_message_time(platform, NetworkSetup{config, {}}, bytes);
}

}  // namespace

TEST(Network, Cm02WithoutGammaCapIsLatencyPlusSizeOverBandwidth) {
  TempDir dir;
  write_text(dir / "p.xml", two_host_platform("10ms", "100MBps"));
  const auto config = resolve_network_config(NetworkSpec{}, {});
  for (double bytes : {248.0, 65536.0, 1e6, 8e6}) {
    const double expected = 0.010 + bytes / 100e6;
    EXPECT_NEAR(one_message_time(dir / "p.xml", config, bytes), expected, 1e-9 * expected) << bytes << " bytes";
  }
}

TEST(Network, Cm02OnAHalfDuplexLinkChargesAckCrossTraffic) {
  TempDir dir;
  write_text(dir / "p.xml", two_host_platform("10ms", "100MBps", false));
  const double expected = 0.010 + 1e6 * 1.05 / 100e6;
  EXPECT_NEAR(one_message_time(dir / "p.xml", resolve_network_config(NetworkSpec{}, {}), 1e6), expected, 1e-9);
}

TEST(Network, Lv08IsSlowerOnTheSameLink) {
  TempDir dir;
  write_text(dir / "p.xml", two_host_platform("10ms", "100MBps"));
  NetworkSpec lv08;
  lv08.model = "LV08";
  const double cm02 = one_message_time(dir / "p.xml", resolve_network_config(NetworkSpec{}, {}), 1e6);
  const double slow = one_message_time(dir / "p.xml", resolve_network_config(lv08, {}), 1e6);
  EXPECT_GT(slow, 13.0 * 0.010);  // LV08 multiplies latency by 13.01
  EXPECT_GT(slow, cm02 * 5);
}

TEST(Network, ResolvedConfigLiftsGammaOnlyForCm02AndCommandLineWins) {
  const auto cm02 = resolve_network_config(NetworkSpec{}, {});
  EXPECT_EQ(cm02, (ConfigList{{"network/model", "CM02"}, {"network/TCP-gamma", "0"}}));
  const auto overridden = resolve_network_config(NetworkSpec{}, {{"network/model", "LV08"}});
  EXPECT_EQ(overridden, (ConfigList{{"network/model", "LV08"}}));
  NetworkSpec with_gamma;
  with_gamma.config = {{"network/TCP-gamma", "4194304"}};
  EXPECT_EQ(resolve_network_config(with_gamma, {})[1].second, "4194304");
  EXPECT_NE(describe_network(cm02).find("CM02, TCP-gamma cap lifted"), std::string::npos);
}

namespace {

// A star: the server and K workers, each worker behind its own 100 ms link. One round of SSGD.
double one_round_time(int workers) {
  TempDir dir;
  std::string hosts = R"(<host id="server" speed="1Gf"/>)";
  std::string links, routes, names;
  for (int k = 0; k < workers; ++k) {
    hosts += fmt::format(R"(<host id="w{}" speed="1Gf"/>)", k);
    links += fmt::format(R"(<link id="l{}" bandwidth="1Gbps" latency="100ms"/>)", k);
    routes += fmt::format(R"(<route src="server" dst="w{0}"><link_ctn id="l{0}"/></route>)", k);
    names += fmt::format("{}w{}", k ? "," : "", k);
  }
  write_text(dir / "p.xml", "<?xml version=\"1.0\"?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">" +
                                hosts + links + routes + "</zone></platform>\n");
  const auto data = testutil::source_dir() / "data";
  write_text(dir / "s.xml", fmt::format(R"(<?xml version="1.0"?>
<scenario name="star">
  <platform file="p.xml"/>
  <network model="CM02"/>
  <data train="{}" test="{}" label="target" standardize="true"/>
  <workers count="{}" hosts="{}"/>
  <server host="server"/>
  <algorithm name="ssgd" eta="0.1"/>
  <batch rule="full"/>
  <training rounds="1"/>
</scenario>
)", (data / "breast_cancer_seed_train.csv").string(), (data / "breast_cancer_seed_test.csv").string(), workers, names));
  const auto out = in_child([&] {
    const auto scenario = load_scenario(dir / "s.xml");
    Simulation simulation(scenario, {});
    return fmt::format("{}", simulation.run().sim_time);
  });
  EXPECT_EQ(out.find("EXCEPTION"), std::string::npos) << out;
  return std::stod(out);
}

}  // namespace

TEST(ParameterServer, UploadsOfKWorkersOverlap) {
  // Serialised uploads would cost about K x 100 ms more; overlapped ones cost what one does.
  const double one = one_round_time(1);
  const double eight = one_round_time(8);
  EXPECT_GT(one, 0.2);
  EXPECT_LT(one, 0.21);
  EXPECT_LT(eight - one, 0.005) << "one worker " << one << " s, eight workers " << eight << " s";
}

TEST(Network, ProfileFactorsFollowTheRouteLatencySummedOverItsLinks) {
  // a -> c crosses two links (10 ms + 30 ms): the table is read at 40 ms, halfway between its
  // rows at 20 ms and 60 ms, so the effective latency and the time per byte are the rows' means.
  TempDir dir;
  write_text(dir / "p.xml", R"(<?xml version="1.0"?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<platform version="4.1">
  <zone id="z" routing="Full">
    <host id="a" speed="1Gf"/>
    <host id="b" speed="1Gf"/>
    <host id="c" speed="1Gf"/>
    <link id="ab" bandwidth="100MBps" latency="10ms" sharing_policy="SPLITDUPLEX"/>
    <link id="bc" bandwidth="100MBps" latency="30ms" sharing_policy="SPLITDUPLEX"/>
    <route src="a" dst="b"><link_ctn id="ab" direction="UP"/></route>
    <route src="a" dst="c"><link_ctn id="ab" direction="UP"/><link_ctn id="bc" direction="UP"/></route>
  </zone>
</platform>
)");
  FactorTable table;
  table.rows = {{0.020, parse_piecewise("0:2;1000:5"), parse_piecewise("0:1;1000:0.5")},
                {0.060, parse_piecewise("0:4;1000:7"), parse_piecewise("0:1;1000:0.25")}};
  const NetworkSetup network{resolve_network_config(NetworkSpec{}, {}), table};
  EXPECT_NEAR(one_message_time(dir / "p.xml", network, 500, "c"), (0.020 * 2 + 0.060 * 4) / 2 + 500 / 100e6, 1e-9);
  EXPECT_NEAR(one_message_time(dir / "p.xml", network, 1e6, "c"),
              (0.020 * 5 + 0.060 * 7) / 2 + 1e6 * (1 / (0.5 * 100e6) + 1 / (0.25 * 100e6)) / 2, 1e-9);
  // 10 ms is below the first row: its factors apply.
  EXPECT_NEAR(one_message_time(dir / "p.xml", network, 1e6, "b"), 0.010 * 5 + 1e6 / (0.5 * 100e6), 1e-9);
}

namespace {

// Each client sends `bytes` to its server `messages` times; the clients start each message
// together, `idle` after the last one arrived. Returns the duration of every message, flow by flow.
std::vector<std::vector<double>> tcp_message_times(int flows, const tcp::TcpParams& params, double bytes, int messages,
                                                   double idle) {
  // `flows` client/server pairs through one shared bottleneck of 100 Mbit/s and 50 ms one way.
  TempDir dir;
  write_text(dir / "p.xml", calibrate::bottleneck_platform_xml({0.050, 12.5e6, 0}, flows));
  const auto out = in_child([&] {
    int argc = 1;
    char name[] = "test";
    char* argv[] = {name, nullptr};
    sg4::Engine engine(&argc, argv);
    const NetworkSetup network{resolve_network_config(NetworkSpec{}, {}), {}, params};
    apply_network_config(network.config);
    engine.load_platform((dir / "p.xml").string());
    install_network_model(network);
    std::vector<std::vector<double>> times(flows);
    const auto barrier = sg4::Barrier::create(flows);
    for (int f = 0; f < flows; ++f) {
      auto* box = sg4::Mailbox::by_name(fmt::format("box{}", f));
      sg4::Actor::create("client", engine.host_by_name(fmt::format("client{}", f)), [box, bytes, messages, idle, &times, f, barrier] {
        static int payload = 0;
        for (int m = 0; m < messages; ++m) {
          barrier->wait();
          if (m > 0) sg4::this_actor::sleep_for(idle);
          const double start = sg4::Engine::get_clock();
          box->put(&payload, static_cast<std::uint64_t>(bytes));
          times[f].push_back(sg4::Engine::get_clock() - start);
        }
      });
      sg4::Actor::create("server", engine.host_by_name(fmt::format("server{}", f)), [box, messages] {
        for (int m = 0; m < messages; ++m) box->get<int>();
      });
    }
    engine.run();
    std::string text;
    for (const auto& flow : times) {
      for (double t : flow) text += fmt::format("{:.17g} ", t);
      text += "\n";
    }
    return text;
  });
  std::vector<std::vector<double>> times;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream values(line);
    times.emplace_back();
    for (double t = 0; values >> t;) times.back().push_back(t);
  }
  return times;
}

constexpr double kPayloadRate = 100e6 / 8 * 1448 / 1500;  // 100 Mbit/s less the headers

}  // namespace

TEST(TcpModelInSimGrid, SlowStartMakesTheFirstMessageSlowerThanLaterOnes) {
  const auto times = tcp_message_times(1, tcp::TcpParams{}, 4e6, 4, 0.1).front();
  ASSERT_EQ(times.size(), 4u);
  // The model's own arithmetic for the first message, on a route of 50 ms at the payload rate.
  tcp::ConnectionState state;
  const auto first = tcp::send_message(state, tcp::TcpParams{}, {0.050, kPayloadRate, 1}, 4e6, 0);
  EXPECT_NEAR(times[0], first.duration, 1e-9);
  EXPECT_GT(times[0], times[1] + 0.2);
  // Once the window fills the path, a message costs latency + size / rate.
  EXPECT_NEAR(times[3], 0.050 + 4e6 / kPayloadRate, 1e-9);
}

TEST(TcpModelInSimGrid, IdleBeyondTheRtoRestartsSlowStartUnlessDisabled) {
  const double busy = tcp_message_times(1, tcp::TcpParams{}, 1e6, 3, 0.1).front()[2];
  const double idle = tcp_message_times(1, tcp::TcpParams{}, 1e6, 3, 2.0).front()[2];
  EXPECT_GT(idle, busy + 0.1);
  tcp::TcpParams keep;
  keep.slow_start_after_idle = false;
  EXPECT_NEAR(tcp_message_times(1, keep, 1e6, 3, 2.0).front()[2], busy, 1e-9);
}

TEST(TcpModelInSimGrid, BufferCapLimitsTheRateOfLongTransfers) {
  tcp::TcpParams small;
  small.rmem_max = 512 * 1024;  // 256 KiB window: 2.6 MB/s on a 100 ms round trip
  const double capped = tcp_message_times(1, small, 8e6, 3, 0.1).front()[2];
  const double window = std::floor(256 * 1024 / 1448.0) * 1448;  // whole segments
  EXPECT_NEAR(capped, 0.050 + std::floor(8e6 / window) * 0.100 + (8e6 - std::floor(8e6 / window) * window) / kPayloadRate,
              1e-6);
  EXPECT_GT(capped, 2 * (0.050 + 8e6 / kPayloadRate));
}

TEST(TcpModelInSimGrid, FlowsThroughOneBottleneckShareIt) {
  const auto alone = tcp_message_times(1, tcp::TcpParams{}, 2e6, 4, 0.1);
  const auto four = tcp_message_times(4, tcp::TcpParams{}, 2e6, 4, 0.1);
  ASSERT_EQ(four.size(), 4u);
  // In the steady state the four flows move 4 x 2 MB through the link together.
  for (const auto& flow : four) EXPECT_NEAR(flow[3], 0.050 + 4 * 2e6 / kPayloadRate, 1e-6);
  EXPECT_NEAR(alone[0][3], 0.050 + 2e6 / kPayloadRate, 1e-9);
  // Sharing, each flow's window fills its quarter of the path sooner: fewer slow-start rounds.
  tcp::ConnectionState state;
  const double quarter_first = tcp::send_message(state, tcp::TcpParams{}, {0.050, kPayloadRate / 4, 4}, 2e6, 0).duration;
  EXPECT_LE(four[3][0], quarter_first + 1e-6);
}
