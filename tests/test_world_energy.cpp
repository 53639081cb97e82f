// Energy from SimGrid's host energy plugin: idle and busy hosts over a known time (in a forked
// child), and a run through the binary with <energy> (summary.json, rounds.csv, bad input).
#include "test_util.hpp"
#include "world/energy.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>
#include <sstream>

using namespace dmlsim;
using namespace dmlsim::testutil;

namespace {

namespace sg4 = simgrid::s4u;

// Host "own" has its own power states (50 W idle, 150 W busy); "plain" has none and gets the
// scenario's defaults (100 W, 200 W).
const std::string kTwoHosts = full_zone_platform(R"(<host id="own" speed="1Gf"><prop id="wattage_per_state" value="50:150"/><prop id="wattage_off" value="5"/></host>
<host id="plain" speed="1Gf"/>
)");

// Runs `busy_host` for `busy` seconds then idles it for `idle` seconds; returns the joules of
// both hosts and of a meter over both, at the end.
std::string energy_after(const std::filesystem::path& platform, const std::string& busy_host, double busy, double idle) {
  return in_child([&] {
    const auto owned = make_engine();
    auto& engine = *owned;
    init_energy_plugin();
    engine.load_platform(platform.string());
    apply_power_defaults(EnergySpec{});
    sg4::Actor::create("load", engine.host_by_name(busy_host), [busy, idle] {
      sg4::this_actor::execute(busy * 1e9);
      sg4::this_actor::sleep_for(idle);
    });
    engine.run();
    const EnergyMeter meter({engine.host_by_name("own"), engine.host_by_name("plain"), engine.host_by_name("own")});
    return fmt::format("{:.9g} {:.9g} {:.9g} {:.9g}", sg4::Engine::get_clock(),
                       EnergyMeter::host_joules(engine.host_by_name("own")),
                       EnergyMeter::host_joules(engine.host_by_name("plain")), meter.joules());
  });
}

TEST(WorldEnergy, IdleAndBusyHostsDrawPowerTimesTime) {
  TempDir dir;
  write_text(dir / "p.xml", kTwoHosts);
  // "own" busy 2 s then idle 3 s: 150·2 + 50·3; "plain" idle 5 s at the default 100 W.
  EXPECT_EQ(energy_after(dir / "p.xml", "own", 2, 3), fmt::format("{:.9g} {:.9g} {:.9g} {:.9g}", 5.0, 450.0, 500.0, 950.0));
  // "plain" busy 4 s at the default 200 W, "own" idle 4 s (the meter counts "own" once).
  EXPECT_EQ(energy_after(dir / "p.xml", "plain", 4, 0), fmt::format("{:.9g} {:.9g} {:.9g} {:.9g}", 4.0, 200.0, 800.0, 1000.0));
}

// Two hosts joined by two links: "own" with its own power range (10 W idle, 30 W at full load),
// "plain" without (the defaults with links on: 10 W, 20 W).
const std::string kTwoLinks = full_zone_platform(R"(<host id="a" speed="1Gf"/>
<host id="b" speed="1Gf"/>
<link id="own" bandwidth="100MBps" latency="0"><prop id="wattage_range" value="10:30"/></link>
<link id="plain" bandwidth="100MBps" latency="0"/>
<route src="a" dst="b"><link_ctn id="own"/><link_ctn id="plain"/></route>
)");

// A lone transfer of `bytes` from a to b, then `idle` seconds of nothing (CM02 without cross
// traffic: the transfer takes the whole bandwidth); returns the clock and both links' joules.
std::string link_energy_after(const std::filesystem::path& platform, double bytes, double idle) {
  return in_child([&] {
    int argc = 4;
    char name[] = "test", quiet[] = "--log=xbt_cfg.thres:warning", model[] = "--cfg=network/model:CM02",
         cross[] = "--cfg=network/crosstraffic:0";
    char* argv[] = {name, quiet, model, cross, nullptr};
    sg4::Engine engine(&argc, argv);
    EnergySpec spec;
    spec.links = true;
    init_energy_plugin(true);
    engine.load_platform(platform.string());
    apply_power_defaults(spec);
    auto* mailbox = sg4::Mailbox::by_name("m");
    static int payload = 0;
    sg4::Actor::create("send", engine.host_by_name("a"), [mailbox, bytes] { mailbox->put(&payload, static_cast<std::uint64_t>(bytes)); });
    sg4::Actor::create("receive", engine.host_by_name("b"), [mailbox, idle] {
      mailbox->get<int>();
      sg4::this_actor::sleep_for(idle);
    });
    engine.run();
    return fmt::format("{:.9g} {:.9g} {:.9g}", sg4::Engine::get_clock(), sg_link_get_consumed_energy(engine.link_by_name("own")),
                       sg_link_get_consumed_energy(engine.link_by_name("plain")));
  });
}

// The plugin's power: idle + (busy − idle) × load / bandwidth. 200 MB at 100 MB/s: 2 s at full
// load, then 3 s idle: "own" 10·5 + 20·1·2 = 90 J, "plain" 10·5 + 10·1·2 = 70 J.
TEST(WorldEnergy, ALoneTransferDrawsIdlePlusBusyShareTimesTime) {
  TempDir dir;
  write_text(dir / "p.xml", kTwoLinks);
  EXPECT_EQ(link_energy_after(dir / "p.xml", 2e8, 3), fmt::format("{:.9g} {:.9g} {:.9g}", 5.0, 90.0, 70.0));
  // Half the time busy: 1 s of transfer, 1 s idle: 10·2 + 20·1 = 40 J, 10·2 + 10·1 = 30 J.
  EXPECT_EQ(link_energy_after(dir / "p.xml", 1e8, 1), fmt::format("{:.9g} {:.9g} {:.9g}", 2.0, 40.0, 30.0));
}

// links="true" through the binary: summary.json's energy.links (the WAN share on a zoned
// platform), outputs byte-identical between two runs, and runs the plugin cannot end cleanly
// refused with file:line.
TEST(WorldEnergy, LinkEnergyOfARunIsReportedAndRepeatable) {
  TempDir dir;
  const auto run = [&](const std::string& name) {
    return run_dmlsim(fmt::format("run -q scenarios/wan/ma.xml --set energy.links=true --set energy.link-idle=2W "
                                  "--set training.rounds=10 -o {}", (dir / name).string()));
  };
  const auto first = run("one"), second = run("two");
  ASSERT_EQ(first.exit_code, 0) << first.out;
  ASSERT_EQ(second.exit_code, 0) << second.out;
  EXPECT_EQ(read_text(dir / "one/rounds.csv"), read_text(dir / "two/rounds.csv"));
  auto one = nlohmann::json::parse(read_text(dir / "one/summary.json"));
  auto two = nlohmann::json::parse(read_text(dir / "two/summary.json"));
  one["result"].erase("wall_time");  // the only field that is not simulated
  two["result"].erase("wall_time");
  EXPECT_EQ(one.dump(), two.dump());
  const auto links = one.at("energy").at("links");
  const double time = one.at("result").at("sim_time"), total = links.at("total_joules"), wan = links.at("wan_joules");
  EXPECT_GT(wan, 0);
  EXPECT_NEAR(wan + links.at("other_joules").get<double>(), total, 1e-9 * total);
  EXPECT_GE(total, 2 * time);  // at least one link idle all along
  EXPECT_EQ(links.at("default_power").at("idle_watts"), 2.0);

  const auto refused = run_dmlsim("validate scenarios/aws/failure.xml --set energy.links=true");
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_NE(refused.out.find("scenarios/aws/failure.xml:"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("link energy plugin"), std::string::npos) << refused.out;
  for (const char* scenario : {"scenarios/wan/asgd.xml", "scenarios/wan/fedavg.xml"}) {
    const auto r = run_dmlsim(fmt::format("validate {} --set energy.links=true", scenario));
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find(fmt::format("{}:1", scenario)), std::string::npos) << r.out;  // the <workers> line
  }
}

TEST(WorldEnergy, ARunReportsJoulesPerWorkerAndToTarget) {
  TempDir dir;
  const auto r = run_dmlsim(fmt::format(
      "run -q scenarios/wan/ma.xml --set energy.host-idle=40W --set energy.host-busy=0.1kW --set training.rounds=20 -o {}",
      (dir / "run").string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto summary = nlohmann::json::parse(read_text(dir / "run/summary.json"));
  const auto& energy = summary.at("energy");
  const double time = summary.at("result").at("sim_time");
  // Five distinct hosts (server and four workers), at least idle all along, at most busy.
  double sum = energy.at("server").at("joules");
  for (const auto& w : energy.at("workers")) sum += w.at("joules").get<double>();
  EXPECT_NEAR(energy.at("total_joules").get<double>(), sum, 1e-9 * sum);
  EXPECT_GE(sum, 5 * 40 * time * (1 - 1e-12));
  EXPECT_LE(sum, 5 * 100 * time);
  EXPECT_EQ(energy.at("default_power").at("busy_watts"), 100.0);
  // rounds.csv gains energy_joules; the energy to a target is that of its row.
  const auto rounds = read_text(dir / "run/rounds.csv");
  EXPECT_NE(rounds.find(",mean_comm_time,energy_joules\n"), std::string::npos);
  const auto& first = energy.at("to_target").at(0);
  EXPECT_EQ(first.at("target"), 0.9);
  ASSERT_FALSE(first.at("joules").is_null());
  EXPECT_NE(rounds.find(fmt::format(",{}\n", first.at("joules").get<double>())), std::string::npos);
}

TEST(WorldEnergy, WithoutEnergyTheOutputsKeepTheirColumns) {
  TempDir dir;
  const auto r = run_dmlsim(fmt::format("run -q scenarios/wan/ma.xml --set training.rounds=2 -o {}", (dir / "run").string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(read_text(dir / "run/rounds.csv").find("energy"), std::string::npos);
  EXPECT_FALSE(nlohmann::json::parse(read_text(dir / "run/summary.json")).contains("energy"));
}

TEST(WorldEnergy, RejectsPowersWithoutUnitsOrNegative) {
  for (const auto* value : {"100", "-5W", "12furlongs"}) {
    const auto r = run_dmlsim(fmt::format("validate scenarios/wan/ma.xml --set energy.host-busy={}", value));
    EXPECT_EQ(r.exit_code, 2) << value << r.out;
    EXPECT_NE(r.out.find("scenarios/wan/ma.xml:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("host-busy"), std::string::npos) << r.out;
  }
  const auto r = run_dmlsim("validate scenarios/wan/ma.xml --set energy.link-busy=5");
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

}  // namespace

namespace {

// A study over two host powers: `dmlsim table --energy` gives the joules to the target and of
// the run, which scale with the power (every host of these runs is idle almost all the time),
// and the links' joules, which do not.
TEST(WorldEnergy, TableShowsEnergyToTargetAndPerRun) {
  TempDir dir;
  write_text(dir / "study.xml", fmt::format(R"(<study name="energy" output="{}">
  <scenarios axis="algorithm"><scenario label="ma" file="{}/scenarios/wan/ma.xml"/></scenarios>
  <axis name="idle" set="energy.host-idle" values="50W 100W"/>
  <fixed set="energy.host-busy" value="100W"/>
  <fixed set="energy.links" value="true"/>
  <fixed set="training.rounds" value="30"/>
  <seeds from="1" to="1"/>
</study>
)", (dir / "results").string(), testutil::source_dir().string()));
  const auto sweep = run_dmlsim(fmt::format("sweep {} -j 1", (dir / "study.xml").string()));
  ASSERT_EQ(sweep.exit_code, 0) << sweep.out;
  const auto table = run_dmlsim(fmt::format("table {} -t 0.9 --energy --format csv", (dir / "results").string()));
  ASSERT_EQ(table.exit_code, 0) << table.out;
  std::istringstream lines(table.out);
  std::string header, low, high;
  std::getline(lines, header);
  std::getline(lines, low);
  std::getline(lines, high);
  EXPECT_NE(header.find("t0.9_energy_median"), std::string::npos) << header;
  EXPECT_NE(header.find("energy_median"), std::string::npos) << header;
  const auto last_number = [](const std::string& line, int from_end) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string f; std::getline(in, f, ',');) fields.push_back(f);
    return std::stod(fields[fields.size() - static_cast<std::size_t>(from_end)]);
  };
  // energy_median, then the links' joules (all and WAN), then "curve"; at 100 W idle about twice
  // that at 50 W; the links' joules do not depend on the hosts' power.
  const double run_low = last_number(low, 4), run_high = last_number(high, 4);
  EXPECT_GT(run_high, 1.9 * run_low);
  EXPECT_LT(run_high, 2.0 * run_low);
  EXPECT_NE(header.find(",energy_median_J,link_energy_median_J,wan_link_energy_median_J,curve"), std::string::npos) << header;
  EXPECT_EQ(last_number(low, 3), last_number(high, 3));
  EXPECT_GT(last_number(low, 3), last_number(low, 2));
  EXPECT_GT(last_number(low, 2), 0);
  const auto without = run_dmlsim(fmt::format("table {} -t 0.9 --energy", (dir / "results").string()));
  EXPECT_EQ(without.exit_code, 0) << without.out;
  EXPECT_NE(without.out.find("| run energy (J) | link energy (J) | WAN link energy (J) |"), std::string::npos) << without.out;
}

TEST(WorldEnergy, TableRefusesEnergyOfRunsWithoutIt) {
  TempDir dir;
  write_text(dir / "study.xml", fmt::format(R"(<study name="plain" output="{}" scenario="{}/scenarios/wan/ma.xml">
  <fixed set="training.rounds" value="5"/>
  <seeds from="1" to="1"/>
</study>
)", (dir / "results").string(), testutil::source_dir().string()));
  ASSERT_EQ(run_dmlsim(fmt::format("sweep {} -j 1", (dir / "study.xml").string())).exit_code, 0);
  const auto table = run_dmlsim(fmt::format("table {} -t 0.9 --energy", (dir / "results").string()));
  EXPECT_EQ(table.exit_code, 2) << table.out;
  EXPECT_NE(table.out.find("needs <energy/>"), std::string::npos) << table.out;
}

}  // namespace
