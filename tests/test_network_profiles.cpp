// Network profiles (reading, resolution, outputs) and `dmlsim calibrate` (fit, SimGrid agreement,
// serve/probe over loopback, errors).
#include "calibrate/round_model.hpp"
#include "calibrate/sim_round.hpp"
#include "scenario/network_profile.hpp"
#include "sim/network.hpp"
#include "test_util.hpp"

#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <thread>
#include <unistd.h>

using namespace dmlsim;
using namespace dmlsim::testutil;
namespace fs = std::filesystem;

namespace {

// The error text of `body`, which must throw ScenarioError.
template <typename Body>
std::string error_of(Body body) {
  try {
    body();
  } catch (const ScenarioError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ScenarioError";
  return "";
}

std::string profile_error(const std::string& text) {
  TempDir dir;
  write_text(dir / "p.xml", text);
  return error_of([&] { load_network_profile(dir / "p.xml"); }).substr((dir / "p.xml").string().size());
}

}  // namespace

TEST(NetworkProfiles, ShippedProfilesLoad) {
  for (const auto* name : {"cm02", "lv08", "linux-tcp", "linux-tcp-table"}) {
    const auto p = load_network_profile(find_network_profile(name, "."));
    EXPECT_EQ(p.name, name);
    EXPECT_FALSE(p.description.empty()) << name;
  }
  const auto tcp = load_network_profile(find_network_profile("linux-tcp", "."));
  EXPECT_EQ(tcp.model, "CM02");
  EXPECT_TRUE(tcp.tcp) << "linux-tcp is the TCP connection model";
  const auto table = load_network_profile(find_network_profile("linux-tcp-table", "."));
  EXPECT_GE(table.factors.rows.size(), 3u) << "linux-tcp-table has one factor row per fitted latency";
  EXPECT_FALSE(table.rounds.empty()) << "linux-tcp-table must carry the measurements it was fitted to";
  EXPECT_EQ(load_network_profile(find_network_profile("lv08", ".")).model, "LV08");
}

TEST(NetworkProfiles, ErrorsNameFileAndLine) {
  EXPECT_EQ(profile_error("<network-profile model=\"SMPI\">\n  <config name=\"a\" value=\"1\">\n</network-profile>\n")
                .substr(0, 3), ":3:");
  EXPECT_NE(profile_error("<network-profile model=\"SMPI\" colour=\"red\"/>").find(":1: <network-profile> attribute 'colour': unknown attribute"),
            std::string::npos)
      << profile_error("<network-profile model=\"SMPI\" colour=\"red\"/>");
  EXPECT_NE(profile_error("<network-profile model=\"XYZ\"/>").find("'XYZ' is not one of"), std::string::npos);
  EXPECT_NE(profile_error("<network-profile>\n<config name=\"network/model\" value=\"LV08\"/></network-profile>").find(":2:"),
            std::string::npos);
  EXPECT_NE(profile_error("<network-profile>\n\n<tuning/></network-profile>").find(":3: unknown element <tuning>"),
            std::string::npos);
  EXPECT_NE(profile_error("<platform/>").find("must be <network-profile>"), std::string::npos);
  const auto factors = [](const std::string& model, const std::string& rows) {
    return profile_error("<network-profile model=\"" + model + "\">\n" + rows + "</network-profile>");
  };
  const std::string row = "<factors latency=\"1ms\" lat-factor=\"0:1\" bw-factor=\"0:1\"/>\n";
  EXPECT_NE(factors("SMPI", row).find(":1: <factors> need model=\"CM02\""), std::string::npos) << factors("SMPI", row);
  EXPECT_NE(factors("CM02", row + row).find(":3: <factors> attribute 'latency': rows must be given in ascending"),
            std::string::npos) << factors("CM02", row + row);
  EXPECT_NE(factors("CM02", "\n<factors latency=\"1ms\" lat-factor=\"0:1;0:2\" bw-factor=\"0:1\"/>")
                .find(":3: <factors> attribute 'lat-factor': sizes must start at 0 and ascend"),
            std::string::npos);
  EXPECT_NE(factors("CM02", "<factors latency=\"1ms\" lat-factor=\"0:1\"/>").find("'bw-factor': is required"),
            std::string::npos);
  EXPECT_NE(factors("CM02", "<factors latency=\"1ms\" lat-factor=\"0:0\" bw-factor=\"0:1;10:0\"/>").find("'bw-factor': bandwidth factors must be positive"),
            std::string::npos);
  EXPECT_NE(factors("CM02", row + "<config name=\"smpi/lat-factor\" value=\"0:2\"/>").find("cannot be combined with <factors>"),
            std::string::npos);
  try {
    find_network_profile("no-such-profile", ".");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("known: cm02, linux-tcp, linux-tcp-table, lv08"), std::string::npos) << e.what();
  }
}

TEST(NetworkProfiles, ConfigOrderIsModelProfileScenarioCommandLine) {
  NetworkSpec spec;
  spec.profile = NetworkProfile{};
  spec.profile->name = "p";
  spec.model = spec.profile->model = "SMPI";
  spec.profile->config = {{"smpi/lat-factor", "0:2"}, {"network/TCP-gamma", "0"}};
  spec.config = {{"network/TCP-gamma", "1000"}};
  const auto config = resolve_network_config(spec, {{"smpi/lat-factor", "0:3"}});
  EXPECT_EQ(config, (ConfigList{{"network/model", "SMPI"}, {"smpi/lat-factor", "0:3"}, {"network/TCP-gamma", "1000"}}));
  EXPECT_NE(describe_network(spec, config).find("SMPI, TCP-gamma 1000: profile p"), std::string::npos);
  const auto replaced = resolve_network_config(spec, {{"network/model", "LV08"}});
  EXPECT_EQ(describe_network(spec, replaced).rfind("LV08", 0), 0u) << describe_network(spec, replaced);
}

TEST(NetworkProfiles, ScenarioNamesAProfileOrAFile) {
  TempDir dir;
  const auto data = source_dir() / "data";
  const auto scenario = [&](const std::string& network) {
    return fmt::format(R"(<?xml version="1.0"?>
<scenario name="t">
  <platform file="{}"/>
  {}
  <data train="{}" test="{}" label="target"/>
  <workers count="2" placement="pattern" pattern="node-*"/>
  <server host="node-0"/>
  <algorithm name="ssgd" eta="0.1"/>
  <training rounds="1"/>
</scenario>
)", (source_dir() / "platforms/lan.xml").string(), network, (data / "breast_cancer_seed_train.csv").string(),
                       (data / "breast_cancer_seed_test.csv").string());
  };
  write_text(dir / "a.xml", scenario(R"(<network profile="lv08"/>)"));
  const auto a = load_scenario(dir / "a.xml");
  EXPECT_EQ(a.network.model, "LV08");
  ASSERT_TRUE(a.network.profile);
  EXPECT_EQ(a.network.profile->name, "lv08");

  write_text(dir / "mine/p.xml", R"(<network-profile name="mine" model="CM02"><config name="network/TCP-gamma" value="65536"/></network-profile>)");
  write_text(dir / "b.xml", scenario(R"(<network profile="mine/p.xml"><config name="network/crosstraffic" value="0"/></network>)"));
  const auto b = load_scenario(dir / "b.xml");
  EXPECT_EQ(resolve_network_config(b.network, {}),
            (ConfigList{{"network/model", "CM02"}, {"network/TCP-gamma", "65536"}, {"network/crosstraffic", "0"}}));

  // --set network.model=... replaces a scenario's profile (and --set network.profile=... its model).
  const auto replaced = load_scenario(dir / "a.xml", {parse_override("network.model=CM02")});
  EXPECT_EQ(replaced.network.model, "CM02");
  EXPECT_FALSE(replaced.network.profile);

  write_text(dir / "c.xml", scenario(R"(<network profile="lv08" model="CM02"/>)"));
  EXPECT_NE(error_of([&] { load_scenario(dir / "c.xml"); }).find("c.xml:4: <network>: give either"), std::string::npos);
  write_text(dir / "d.xml", scenario(R"(<network profile="lv09"/>)"));
  EXPECT_NE(error_of([&] { load_scenario(dir / "d.xml"); }).find("d.xml:4: <network> attribute 'profile': unknown network profile 'lv09'"),
            std::string::npos);
  write_text(dir / "bad/p.xml", "<network-profile>\n  <config name=\"x\"/>\n</network-profile>\n");
  write_text(dir / "e.xml", scenario(R"(<network profile="bad/p.xml"/>)"));
  EXPECT_NE(error_of([&] { load_scenario(dir / "e.xml"); }).find("bad/p.xml:2: <config> attribute 'value': is required"),
            std::string::npos);
}

TEST(FactorTable, PiecewiseFactorsApplyAboveTheirThreshold) {
  const auto f = parse_piecewise("0:1.5;16000:2;1000000:3");
  EXPECT_EQ(f.at(0), 1.5);
  EXPECT_EQ(f.at(16000), 1.5);  // SimGrid's convention: an entry applies to sizes above its threshold
  EXPECT_EQ(f.at(16001), 2);
  EXPECT_EQ(f.at(5e6), 3);
  EXPECT_EQ(to_string(f), "0:1.5;16000:2;1000000:3");
  EXPECT_EQ(parse_piecewise("0:0").at(5), 0);  // a latency factor may be 0
  for (const char* bad : {"", "1:2", "0:1;0:2", "0:1;100:x", "0:-1", "0=1", "0:1;50:2;20:3", "0:1.5x", "0:nan"})
    EXPECT_THROW(parse_piecewise(bad), std::invalid_argument) << bad;
}

TEST(FactorTable, RowsInterpolateTheMessageTimeAndClampOutside) {
  FactorTable t;
  EXPECT_EQ(t.latency_factor(100, 0.05), 1.0);  // no rows: no correction
  t.rows = {{0.010, parse_piecewise("0:1;1000:2"), parse_piecewise("0:1;1000:0.5")},
            {0.100, parse_piecewise("0:1;1000:4"), parse_piecewise("0:1;1000:1")}};
  EXPECT_DOUBLE_EQ(t.latency_factor(5000, 0.001), 2);  // below the first row: its factors
  EXPECT_DOUBLE_EQ(t.latency_factor(5000, 0.5), 4);    // above the last row: its factors
  EXPECT_DOUBLE_EQ(t.bandwidth_factor(5000, 0.5, 1e6), 1);
  EXPECT_DOUBLE_EQ(t.latency_factor(10, 0.055), 1);
  // Halfway: the mean of the effective latencies (10 ms x 2, 100 ms x 4) ...
  EXPECT_DOUBLE_EQ(t.latency_factor(5000, 0.055) * 0.055, (0.010 * 2 + 0.100 * 4) / 2);
  // ... and of the times per byte (1 / (0.5 B), 1 / B).
  EXPECT_DOUBLE_EQ(1 / (t.bandwidth_factor(5000, 0.055, 1e6) * 1e6), (2e-6 + 1e-6) / 2);
  // Under a window cap of 100 kB both rows run at the window's rate: so does every latency between.
  t.window = 1e5;
  t.rows[0].bandwidth_factor = parse_piecewise("0:1");
  EXPECT_NEAR(t.bandwidth_factor(5000, 0.055, 1e7), 1.0, 1e-12);
}

TEST(Calibration, FitRecoversTheWindowAndReproducesEveryRound) {
  // Rounds of plain CM02 with a 800 kB window: the fit finds the window and needs no correction.
  const auto window = calibrate::size_only_factors({0}, {1}, {1}, 800000);
  std::vector<calibrate::Observation> obs;
  for (double latency : {0.0005, 0.025, 0.1})
    for (double bytes : {248.0, 65536.0, 1e6, 8e6})
      obs.push_back({latency, 12.5e6, bytes, calibrate::round_time(window, latency, 12.5e6, bytes, 0.01)});
  auto fit = calibrate::fit_factors(obs, 0.01);
  EXPECT_NEAR(fit.window, 800000, 0.03 * 800000);  // gamma is searched on a 2 % grid
  EXPECT_LT(calibrate::worst_relative_error(fit, obs, 0.01), 1e-9);
  ASSERT_EQ(fit.rows.size(), 3u);
  EXPECT_EQ(fit.rows[2].latency, 0.1);
  EXPECT_EQ(fit.rows[0].latency_factor.threshold, (std::vector<long>{0, 4031, 256000, 2828427}));
  // With latency and size factors on top, every round is still reproduced and no flow outruns its link.
  const auto truth = calibrate::size_only_factors({0, 4000, 200000, 3000000}, {1.0, 1.5, 2.0, 4.0},
                                                  {1.0, 0.9, 0.95, 0.97}, 800000);
  for (auto& o : obs) o.time = calibrate::round_time(truth, o.latency, 12.5e6, o.bytes, 0.01);
  fit = calibrate::fit_factors(obs, 0.01);
  EXPECT_LT(calibrate::worst_relative_error(fit, obs, 0.01), 1e-9);
  for (const auto& row : fit.rows)
    for (double bw : row.bandwidth_factor.value) EXPECT_LE(bw, 1.0);
}

TEST(Calibration, FitFollowsLatencyDependentRoundTrips) {
  // Round trips lost at 60 ms but not at 30 or 100 ms: neither a size-only row nor the window cap
  // (which grows monotonically with latency) fits that; one row per latency does.
  std::vector<calibrate::Observation> obs;
  for (auto [latency, extra] : {std::pair{0.001, 1.0}, {0.03, 1.0}, {0.06, 3.0}, {0.1, 1.0}})
    obs.push_back({latency, 12.5e6, 1e6, 0.01 + 2 * (latency * extra + 0.08)});
  const auto fit = calibrate::fit_factors(obs, 0.01);
  EXPECT_LT(calibrate::worst_relative_error(fit, obs, 0.01), 1e-3);
  ASSERT_EQ(fit.rows.size(), 4u);
  // The 60 ms row alone carries the extra round trips; halfway to it from 30 ms the round lies
  // between its neighbours'.
  const auto factors_at = [&](std::size_t row) {
    return std::pair{fit.rows[row].latency_factor.at(1e6), fit.rows[row].bandwidth_factor.at(1e6)};
  };
  EXPECT_NE(factors_at(2), factors_at(1));
  const double halfway = calibrate::round_time(fit, 0.045, 12.5e6, 1e6, 0.01);
  EXPECT_GT(halfway, 0.23 + 0.01);
  EXPECT_LT(halfway, 0.53 - 0.01);
}

TEST(Calibration, RepeatedRunsOfACellFitTheirMedian) {
  // Three runs measured the 1 MB round at 25 ms (plus a second latency, so rows are per latency).
  std::vector<calibrate::Observation> obs = {{0.025, 12.5e6, 1e6, 0.25}, {0.025, 12.5e6, 1e6, 0.23},
                                             {0.025, 12.5e6, 1e6, 0.30}, {0.1, 12.5e6, 1e6, 0.7}};
  const auto fit = calibrate::fit_factors(obs, 0.01);
  EXPECT_NEAR(calibrate::round_time(fit, 0.025, 12.5e6, 1e6, 0.01), 0.25, 1e-9);
  EXPECT_NEAR(calibrate::round_time(fit, 0.1, 12.5e6, 1e6, 0.01), 0.7, 1e-9);
}

TEST(Calibration, OneLatencyFitsExactlyWithBandwidthFactorOne) {
  std::vector<calibrate::Observation> obs = {{0.05, 1e7, 256, 0.12}, {0.05, 1e7, 1e6, 0.5}};
  const auto fit = calibrate::fit_factors(obs, 0.01);
  EXPECT_EQ(fit.window, 0);
  ASSERT_EQ(fit.rows.size(), 1u);
  EXPECT_EQ(fit.rows[0].latency, 0.05);
  EXPECT_EQ(fit.rows[0].bandwidth_factor.value, (std::vector<double>{1, 1}));
  EXPECT_EQ(fit.rows[0].latency_factor.threshold, (std::vector<long>{0, 16000}));
  EXPECT_LT(calibrate::worst_relative_error(fit, obs, 0.01), 1e-9);
}

TEST(Calibration, SimGridWithProfileFactorsMatchesTheFittedFormula) {
  // What the fit assumes about SimGrid must be what SimGrid does (factors, buckets, interpolation
  // between latency rows, window cap).
  calibrate::Factors f;
  f.window = 700000;
  f.rows = {{0.001, parse_piecewise("0:1.2;4031:1.8;256000:3"), parse_piecewise("0:1;4031:0.8;256000:0.95")},
                  {0.05, parse_piecewise("0:1.1;4031:2.5;256000:4"), parse_piecewise("0:1;4031:0.8;256000:0.9")}};
  const NetworkSetup network{{{"network/model", "CM02"}, {"network/TCP-gamma", "700000"}}, f};
  const std::vector<double> sizes = {248, 65536, 1e6, 8e6};
  for (double latency : {0.0005, 0.02, 0.1}) {
    const auto times = calibrate::simulate_rounds(network, {latency, 12.5e6, 0.01}, sizes);
    for (std::size_t i = 0; i < sizes.size(); ++i)
      EXPECT_NEAR(times[i], calibrate::round_time(f, latency, 12.5e6, sizes[i], 0.01), 1e-6) << sizes[i] << " B";
  }
}

TEST(Calibration, SimGridSmpiModelStillTakesSizeOnlyFactors) {
  // User-written profiles may keep SimGrid's own SMPI factors; they equal a one-row table.
  const auto f = calibrate::size_only_factors({0, 4031, 256000}, {1.2, 1.8, 3.0}, {1.0, 0.8, 0.95}, 700000);
  const NetworkSetup network{{{"network/model", "SMPI"},
                              {"smpi/lat-factor", to_string(f.rows[0].latency_factor)},
                              {"smpi/bw-factor", to_string(f.rows[0].bandwidth_factor)},
                              {"network/TCP-gamma", "700000"}},
                             {}};
  const std::vector<double> sizes = {248, 65536, 1e6, 8e6};
  const auto times = calibrate::simulate_rounds(network, {0.1, 12.5e6, 0.01}, sizes);
  for (std::size_t i = 0; i < sizes.size(); ++i)
    EXPECT_NEAR(times[i], calibrate::round_time(f, 0.1, 12.5e6, sizes[i], 0.01), 1e-6) << sizes[i] << " B";
}

TEST(Calibration, SizesParse) {
  EXPECT_EQ(calibrate::parse_sizes("248,64KiB,1MB,8MiB"), (std::vector<double>{248, 65536, 1e6, 8388608}));
  EXPECT_THROW(calibrate::parse_sizes("12parsecs"), std::invalid_argument);
  EXPECT_THROW(calibrate::parse_sizes("0"), std::invalid_argument);
}

TEST(CalibrateCommand, ProbeOfAClosedPortFailsFastWithExitThree) {
  const auto start = std::chrono::steady_clock::now();
  const auto result = run_dmlsim("calibrate probe 127.0.0.1:1 --timeout 5");
  EXPECT_EQ(result.exit_code, 3) << result.out;
  EXPECT_NE(result.out.find("cannot connect to 127.0.0.1:1: connection refused"), std::string::npos) << result.out;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5);
  EXPECT_EQ(run_dmlsim("calibrate probe localhost --timeout 1").exit_code, 2);
  EXPECT_EQ(run_dmlsim("calibrate simulate --profile nope --latency 1ms --bandwidth 1Gbps").exit_code, 2);
}

TEST(CalibrateCommand, ServeWithoutProbeStopsAtItsTimeout) {
  const int port = 40000 + static_cast<int>(::getpid() % 20000);
  const auto result = run_dmlsim(fmt::format("calibrate serve --port {} --bind 127.0.0.1 --timeout 0.5", port));
  EXPECT_EQ(result.exit_code, 3) << result.out;
  EXPECT_NE(result.out.find("no probe connected within 0.5 s"), std::string::npos) << result.out;
}

TEST(CalibrateCommand, ServeAndProbeOverLoopbackWriteAUsableProfile) {
  TempDir dir;
  const int port = 20000 + static_cast<int>(::getpid() % 20000);
  std::thread server([&] { run_dmlsim(fmt::format("calibrate serve --port {} --bind 127.0.0.1 --once --timeout 30", port)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto result = run_dmlsim(fmt::format("calibrate probe 127.0.0.1:{} --sizes 256,64KiB,1MiB --rounds 3 "
                                             "--bandwidth-bytes 4MiB --out {} --json {} --name lo",
                                             port, (dir / "lo.xml").string(), (dir / "lo.json").string()));
  server.join();
  ASSERT_EQ(result.exit_code, 0) << result.out;
  const auto profile = load_network_profile(dir / "lo.xml");
  EXPECT_EQ(profile.name, "lo");
  EXPECT_EQ(profile.rounds.size(), 3u);
  const auto j = nlohmann::json::parse(read_text(dir / "lo.json"));
  EXPECT_EQ(j["observations"].size(), 3u);
  // The profile, simulated on the measured path, gives back the measured rounds.
  const auto& o = j["observations"];
  const auto sim = run_dmlsim(fmt::format("calibrate simulate --profile {} --latency {}s --bandwidth {}Bps --sizes 256,64KiB,1MiB",
                                          (dir / "lo.xml").string(), o[0]["latency"].get<double>(),
                                          o[0]["bandwidth"].get<double>()));
  ASSERT_EQ(sim.exit_code, 0) << sim.out;
  std::istringstream lines(sim.out);
  for (std::size_t i = 0; i < 3; ++i) {
    double bytes = 0, time = 0;
    lines >> bytes >> time;
    EXPECT_NEAR(time, o[i]["time"].get<double>(), 0.01 * o[i]["time"].get<double>()) << bytes;
  }
  // And a fit of the JSON gives the same profile.
  EXPECT_EQ(run_dmlsim(fmt::format("calibrate fit {} --out {}", (dir / "lo.json").string(), (dir / "fit.xml").string())).exit_code, 0);
  EXPECT_NO_THROW(load_network_profile(dir / "fit.xml"));
}

TEST(CalibrateCommand, ProbeWithFlowsRecordsEveryFlowsFinishPerRound) {
  TempDir dir;
  const int port = 21000 + static_cast<int>(::getpid() % 19000);
  std::thread server([&] { run_dmlsim(fmt::format("calibrate serve --port {} --bind 127.0.0.1 --once --timeout 30", port)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto result = run_dmlsim(fmt::format("calibrate probe 127.0.0.1:{} --flows 3 --sizes 64KiB --warmup 1 --rounds 2 "
                                             "--gap 5ms --assume-latency 1ms --assume-bandwidth 1Gbps --json {}",
                                             port, (dir / "flows.json").string()));
  server.join();  // --once: the server stops when all three connections have closed
  ASSERT_EQ(result.exit_code, 0) << result.out;
  const auto j = nlohmann::json::parse(read_text(dir / "flows.json"));
  EXPECT_EQ(j["flows"], 3);
  EXPECT_TRUE(j["flagged"].is_boolean());
  const auto& o = j["observations"][0];
  ASSERT_EQ(o["warmup_rounds"].size(), 1u);
  ASSERT_EQ(o["rounds"].size(), 2u);
  EXPECT_EQ(o["rounds"][0]["index"], 1);
  for (const auto& r : o["rounds"]) {
    ASSERT_EQ(r["finish"].size(), 3u);
    double last = 0;
    for (const auto& f : r["finish"]) {
      EXPECT_GT(f.get<double>(), 0.005);  // every answer waited the server's gap
      last = std::max(last, f.get<double>());
    }
    EXPECT_DOUBLE_EQ(r["time"].get<double>(), last);  // the slowest flow sets the round
  }
  EXPECT_GT(o["rounds"][1]["start"].get<double>(), o["rounds"][0]["start"].get<double>());
  // A contention measurement is no input for a one-connection profile.
  const auto refused = run_dmlsim(fmt::format("calibrate probe 127.0.0.1:{} --flows 2 --out {}", port, (dir / "p.xml").string()));
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_FALSE(fs::exists(dir / "p.xml"));
}

TEST(CalibrateCommand, FitRefusesAMeasurementFlaggedForEmulatorDrops) {
  TempDir dir;
  write_text(dir / "m.json", R"({"kind": "dmlsim-calibration", "gap": 0.01, "flagged": true,
    "flag_reason": "40 emulator drops > bound 3",
    "observations": [{"latency": 0.01, "bandwidth": 1.25e7, "bytes": 65536, "time": 0.04}]})");
  const auto result = run_dmlsim(fmt::format("calibrate fit {} --out {}", (dir / "m.json").string(), (dir / "p.xml").string()));
  EXPECT_EQ(result.exit_code, 2) << result.out;
  EXPECT_NE(result.out.find("flagged for emulator drops (40 emulator drops > bound 3)"), std::string::npos) << result.out;
  EXPECT_FALSE(fs::exists(dir / "p.xml"));
}

TEST(RunCommand, NetworkProfileFromTheCommandLineIsRecorded) {
  TempDir out;
  const auto result = run_dmlsim("run scenarios/seed/ma.xml --set training.rounds=3 --network-profile lv08 --out " +
                                 (out / "run").string());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("network      LV08: profile lv08"), std::string::npos) << result.out;
  const auto s = nlohmann::json::parse(read_text(out / "run" / "summary.json"));
  EXPECT_EQ(s["network"]["model"], "LV08");
  EXPECT_NE(s["network"]["description"].get<std::string>().find("profile lv08"), std::string::npos);
  const auto bad = run_dmlsim("run scenarios/seed/ma.xml --network-profile lv09 -q --out " + (out / "bad").string());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("--network-profile: unknown network profile 'lv09'"), std::string::npos) << bad.out;
}
