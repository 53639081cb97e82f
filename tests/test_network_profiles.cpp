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
  for (const auto* name : {"cm02", "lv08", "linux-tcp"}) {
    const auto p = load_network_profile(find_network_profile(name, "."));
    EXPECT_EQ(p.name, name);
    EXPECT_FALSE(p.description.empty()) << name;
  }
  const auto tcp = load_network_profile(find_network_profile("linux-tcp", "."));
  EXPECT_EQ(tcp.model, "SMPI");
  EXPECT_FALSE(tcp.rounds.empty()) << "linux-tcp must carry the measurements it was fitted to";
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
  try {
    find_network_profile("no-such-profile", ".");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("known: cm02, linux-tcp, lv08"), std::string::npos) << e.what();
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

TEST(Calibration, FitRecoversFactorsAndWindowFromSeveralLatencies) {
  calibrate::Factors truth{{0, 4000, 200000, 3000000}, {1.0, 1.5, 2.0, 4.0}, {1.0, 0.9, 0.95, 0.97}, 800000};
  std::vector<calibrate::Observation> obs;
  for (double latency : {0.0005, 0.025, 0.1})
    for (double bytes : {248.0, 65536.0, 1e6, 8e6})
      obs.push_back({latency, 12.5e6, bytes, calibrate::round_time(truth, latency, 12.5e6, bytes, 0.01)});
  const auto fit = calibrate::fit_factors(obs, 0.01);
  EXPECT_LT(calibrate::worst_relative_error(fit, obs, 0.01), 0.01);  // gamma is searched on a 2 % grid
  EXPECT_NEAR(fit.gamma, truth.gamma, 0.03 * truth.gamma);
  EXPECT_EQ(fit.threshold, (std::vector<long>{0, 4031, 256000, 2828427}));
}

TEST(Calibration, OneLatencyFitsExactlyWithBandwidthFactorOne) {
  std::vector<calibrate::Observation> obs = {{0.05, 1e7, 256, 0.12}, {0.05, 1e7, 1e6, 0.5}};
  const auto fit = calibrate::fit_factors(obs, 0.01);
  EXPECT_EQ(fit.gamma, 0);
  EXPECT_EQ(fit.bandwidth, (std::vector<double>{1, 1}));
  EXPECT_LT(calibrate::worst_relative_error(fit, obs, 0.01), 1e-9);
  EXPECT_EQ(calibrate::factor_string(fit.threshold, {1.5, 2}), "0:1.5;16000:2");
}

TEST(Calibration, SimGridSmpiModelMatchesTheFittedFormula) {
  // What the fit assumes about SimGrid must be what SimGrid does (factors, buckets, window cap).
  calibrate::Factors f{{0, 4031, 256000}, {1.2, 1.8, 3.0}, {1.0, 0.8, 0.95}, 700000};
  const ConfigList config = {{"network/model", "SMPI"},
                             {"smpi/lat-factor", calibrate::factor_string(f.threshold, f.latency)},
                             {"smpi/bw-factor", calibrate::factor_string(f.threshold, f.bandwidth)},
                             {"network/TCP-gamma", "700000"}};
  const std::vector<double> sizes = {248, 65536, 1e6, 8e6};
  for (double latency : {0.0005, 0.1}) {
    const auto times = calibrate::simulate_rounds(config, {latency, 12.5e6, 0.01}, sizes);
    for (std::size_t i = 0; i < sizes.size(); ++i)
      EXPECT_NEAR(times[i], calibrate::round_time(f, latency, 12.5e6, sizes[i], 0.01), 1e-6) << sizes[i] << " B";
  }
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
