// Energy from SimGrid's host energy plugin: idle and busy hosts over a known time (in a forked
// child), and a run through the binary with <energy> (summary.json, rounds.csv, bad input).
#include "test_util.hpp"
#include "sim/comm_waits.hpp"
#include "world/energy.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>
#include <sstream>

using namespace dmlsim;
using namespace dmlsim::testutil;

namespace {

namespace sg4 = simgrid::s4u;

// Two runs' outputs byte for byte, but summary.json's wall time (the only field not simulated).
void expect_same_outputs(const std::filesystem::path& one, const std::filesystem::path& two) {
  EXPECT_EQ(read_text(one / "rounds.csv"), read_text(two / "rounds.csv"));
  auto a = nlohmann::json::parse(read_text(one / "summary.json"));
  auto b = nlohmann::json::parse(read_text(two / "summary.json"));
  a["result"].erase("wall_time");
  b["result"].erase("wall_time");
  EXPECT_EQ(a.dump(), b.dump());
}

// rounds.csv without its energy_joules column.
std::string without_energy(const std::string& rounds) {
  std::istringstream lines(rounds);
  std::string out, line;
  std::optional<std::size_t> column;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string f; std::getline(in, f, ',');) fields.push_back(f);
    if (!column) column = static_cast<std::size_t>(std::find(fields.begin(), fields.end(), "energy_joules") - fields.begin());
    if (*column < fields.size()) fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(*column));
    out += fmt::format("{}\n", fmt::join(fields, ","));
  }
  return out;
}

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

// The clock and both links' joules after `actors` ran on `platform` (CM02 without cross traffic: a
// lone transfer takes the whole bandwidth), with the link energy plugin on.
std::string link_energy_of(const std::filesystem::path& platform, const std::function<void(sg4::Engine&)>& actors) {
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
    actors(engine);
    engine.run();
    return fmt::format("{:.9g} {:.9g} {:.9g}", sg4::Engine::get_clock(), sg_link_get_consumed_energy(engine.link_by_name("own")),
                       sg_link_get_consumed_energy(engine.link_by_name("plain")));
  });
}

// A lone transfer of `bytes` from a to b, then `idle` seconds of nothing.
std::string link_energy_after(const std::filesystem::path& platform, double bytes, double idle) {
  return link_energy_of(platform, [bytes, idle](sg4::Engine& engine) {
    auto* mailbox = sg4::Mailbox::by_name("m");
    static int payload = 0;
    sg4::Actor::create("send", engine.host_by_name("a"), [mailbox, bytes] { mailbox->put(&payload, static_cast<std::uint64_t>(bytes)); });
    sg4::Actor::create("receive", engine.host_by_name("b"), [mailbox, idle] {
      mailbox->get<int>();
      sg4::this_actor::sleep_for(idle);
    });
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

// What crashed SimGrid 3.32's link energy plugin (a segfault or an assertion failure in the
// plugin's completion callback), through the waits every dmlsim actor uses (sim/comm_waits.hpp):
// an actor killed by its host's failure while it waits for a message nobody sends, a daemon ended
// with the run while its send has no receiver, and a wait whose timeout expires before anything
// comes. Nothing travels: both links draw their idle power (10 W) for the 3 s of the run.
TEST(WorldEnergy, LinksSurviveKilledAndTimedOutWaitsAndStayIdle) {
  TempDir dir;
  write_text(dir / "p.xml", kTwoLinks);
  static bool timed_out = false;
  const auto joules = link_energy_of(dir / "p.xml", [](sg4::Engine& engine) {
    auto* a = engine.host_by_name("a");
    auto* b = engine.host_by_name("b");
    static int payload = 0;
    sg4::Actor::create("waits-on-a-failing-host", b, [] { receive<int>(sg4::Mailbox::by_name("nobody-sends")); });
    sg4::Actor::create("sends-to-nobody", a, [] { send_to(sg4::Mailbox::by_name("nobody-receives"), &payload, 1000000); })
        ->daemonize();
    sg4::Actor::create("times-out", a, [] {
      int* data = nullptr;
      timed_out = !await_comm_for(sg4::Mailbox::by_name("late")->get_async<int>(&data), 0.5);
    });
    sg4::Actor::create("ends-the-run", a, [b] {
      sg4::this_actor::sleep_for(1);
      b->turn_off();
      sg4::this_actor::sleep_for(2);
      if (!timed_out) throw std::runtime_error("the wait did not time out");
    });
  });
  EXPECT_EQ(joules, fmt::format("{:.9g} {:.9g} {:.9g}", 3.0, 30.0, 30.0));
}

// A transfer, then its receiver, a daemon, waits for a next message that never comes and is ended
// with the run at 5 s: the transfer's 2 s at full load, idle the rest (as in the lone transfer).
TEST(WorldEnergy, ABusyLinkThenAnEndedWaitDrawsIdlePlusBusyShare) {
  TempDir dir;
  write_text(dir / "p.xml", kTwoLinks);
  const auto joules = link_energy_of(dir / "p.xml", [](sg4::Engine& engine) {
    auto* mailbox = sg4::Mailbox::by_name("m");
    static int payload = 0;
    sg4::Actor::create("receive", engine.host_by_name("b"), [mailbox] {
      for (;;) receive<int>(mailbox);
    })->daemonize();
    sg4::Actor::create("send", engine.host_by_name("a"), [mailbox] {
      send_to(mailbox, &payload, 200000000);
      sg4::this_actor::sleep_for(3);
    });
  });
  EXPECT_EQ(joules, fmt::format("{:.9g} {:.9g} {:.9g}", 5.0, 90.0, 70.0));
}

// links="true" through the binary: summary.json's energy.links (the WAN share on a zoned
// platform), outputs byte-identical between two runs.
TEST(WorldEnergy, LinkEnergyOfARunIsReportedAndRepeatable) {
  TempDir dir;
  const auto run = [&](const std::string& name) {
    return run_dmlsim(fmt::format("run -q scenarios/wan/ma.xml --set energy.links=true --set energy.link-idle=2W "
                                  "--set training.rounds=10 -o {}", (dir / name).string()));
  };
  const auto first = run("one"), second = run("two");
  ASSERT_EQ(first.exit_code, 0) << first.out;
  ASSERT_EQ(second.exit_code, 0) << second.out;
  expect_same_outputs(dir / "one", dir / "two");
  const auto one = nlohmann::json::parse(read_text(dir / "one/summary.json"));
  const auto links = one.at("energy").at("links");
  const double time = one.at("result").at("sim_time"), total = links.at("total_joules"), wan = links.at("wan_joules");
  EXPECT_GT(wan, 0);
  EXPECT_NEAR(wan + links.at("other_joules").get<double>(), total, 1e-9 * total);
  EXPECT_GE(total, 2 * time);  // at least one link idle all along
  EXPECT_EQ(links.at("default_power").at("idle_watts"), 2.0);
}

// Link energy where SimGrid 3.32's plugin used to crash: a run with failures (a worker down for
// 20 s, a WAN link down for 5 s) completes, reruns byte-identically, and its links' joules are
// those of every link at idle power all along plus a share of busy: with busy = idle (2 W), the
// total is exactly N × 2 W × the run's time, N the number of links; with busy = 20 W it is more,
// and at most N × 20 W × time. The simulation itself does not change with link energy on.
TEST(WorldEnergy, LinkEnergyOfARunWithFailuresIsIdlePowerTimesTimePlusTheBusyShare) {
  TempDir dir;
  const auto run = [&](const std::string& name, const std::string& busy) {
    const auto r = run_dmlsim(fmt::format("run -q scenarios/wan/ma-failures.xml --set energy.links=true --set "
                                          "energy.link-idle=2W --set energy.link-busy={} -o {}",
                                          busy, (dir / name).string()));
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return nlohmann::json::parse(read_text(dir / name / "summary.json"));
  };
  const auto busy = run("busy", "20W"), again = run("again", "20W"), flat = run("flat", "2W");
  expect_same_outputs(dir / "busy", dir / "again");
  const double time = busy.at("result").at("sim_time");
  EXPECT_EQ(flat.at("result").at("sim_time").get<double>(), time);
  EXPECT_FALSE(busy.at("failures").at("events").empty());
  const double flat_total = flat.at("energy").at("links").at("total_joules");
  const double links = flat_total / (2 * time);
  EXPECT_NEAR(links, std::round(links), 1e-6) << links;
  EXPECT_GE(links, 4);  // four workers, at least a link each
  const double total = busy.at("energy").at("links").at("total_joules");
  EXPECT_GT(total, flat_total);
  EXPECT_LE(total, 10 * flat_total);
  EXPECT_GT(busy.at("energy").at("links").at("wan_joules").get<double>(),
            flat.at("energy").at("links").at("wan_joules").get<double>());
  const auto without = run_dmlsim(fmt::format("run -q scenarios/wan/ma-failures.xml -o {}", (dir / "plain").string()));
  ASSERT_EQ(without.exit_code, 0) << without.out;
  EXPECT_TRUE(without_energy(read_text(dir / "plain/rounds.csv")) == without_energy(read_text(dir / "flat/rounds.csv")));
}

// A ring all-reduce of 8 MB vectors with random worker failures (each worker down every 20 s on
// average, for 3 s): workers die mid-transfer and the survivors wait in their sends and receives
// over and over. With link energy it completes with the rounds it has with host energy alone.
TEST(WorldEnergy, LinkEnergyOfARingWithRandomFailuresKeepsItsRounds) {
  TempDir dir;
  auto text = relocated_scenario("scenarios/wan/ma-failures.xml");
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {R"(<host name="eu-west-0" round="100" for="20s"/>)", R"(<random mtbf="20s" mttr="3s"/>)"},
           {R"(<link name="wan-us-east-ap-northeast" at="5s" for="5s"/>)", ""},
           {R"(<model type="logistic" init="uniform"/>)", R"(<model type="logistic" init="uniform" sim-parameters="1e6" sim-forward-flops="1e8"/>)"},
           {R"(<server host="us-east-0"/>)", R"(<server host="us-east-0"/><topology kind="ring-allreduce"/>)"},
           {R"(timeout="2s")", R"(timeout="30s")"}}) {
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  }
  write_text(dir / "ring.xml", text);
  for (const auto& [energy, name] : {std::pair{"--set energy.links=true", "links"}, std::pair{"--set energy.host-idle=100W", "hosts"}}) {
    const auto r = run_dmlsim(fmt::format("run -q {} {} --set training.rounds=100 -o {}", (dir / "ring.xml").string(), energy,
                                          (dir / name).string()));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(without_energy(read_text(dir / "links/rounds.csv")) == without_energy(read_text(dir / "hosts/rounds.csv")));
  const auto summary = nlohmann::json::parse(read_text(dir / "links/summary.json"));
  EXPECT_GT(summary.at("failures").at("events").size(), 2u);
  EXPECT_GT(summary.at("energy").at("links").at("total_joules").get<double>(), 0);
}

// And with competing traffic (an on/off flow), an asynchronous algorithm, gossip, client sampling
// and backup workers: each completes quietly with the rounds it has with host energy only, its links'
// joules at least one link's idle power over the run, and between those at busy = idle (10 W) and
// twice those at busy = 20 W. (The links count until the simulation ends, which can be after the
// last round.)
TEST(WorldEnergy, LinkEnergyWorksWithTrafficAsynchronyGossipAndPartialStars) {
  TempDir dir;
  write_text(dir / "flow.xml", relocated_scenario("scenarios/wan/ma.xml",
                                                  R"(<background><flow from="us-east-1" to="eu-west-1" on="2s" off="3s"/></background>)"));
  const auto run = [&](const std::string& scenario, const std::string& energy, const std::string& name) {
    const auto r = run_dmlsim(fmt::format("run -q {} {} --set training.rounds=20 -o {}", scenario, energy, (dir / name).string()));
    EXPECT_EQ(r.exit_code, 0) << scenario << r.out;
    EXPECT_EQ(r.out, "") << scenario;  // nothing from SimGrid about the transfers the run ended
    return nlohmann::json::parse(read_text(dir / name / "summary.json"));
  };
  for (const auto& scenario : {(dir / "flow.xml").string(), std::string("scenarios/wan/asgd.xml"),
                               std::string("scenarios/wan/dpsgd.xml"), std::string("scenarios/wan/fedavg.xml"),
                               std::string("scenarios/wan/ssgd-backup.xml")}) {
    const auto name = std::filesystem::path(scenario).stem().string();
    const auto flat = run(scenario, "--set energy.links=true --set energy.link-busy=10W", name + "-flat");
    const auto busy = run(scenario, "--set energy.links=true --set energy.link-busy=20W", name);
    run(scenario, "--set energy.host-idle=100W", name + "-hosts");
    EXPECT_TRUE(without_energy(read_text(dir / (name + "-hosts") / "rounds.csv")) ==
                without_energy(read_text(dir / name / "rounds.csv"))) << scenario;
    const double idle_joules = flat.at("energy").at("links").at("total_joules");
    const double joules = busy.at("energy").at("links").at("total_joules");
    EXPECT_GE(idle_joules, 10 * busy.at("result").at("sim_time").get<double>()) << scenario;
    EXPECT_GT(joules, idle_joules) << scenario;
    EXPECT_LT(joules, 2 * idle_joules) << scenario;
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

// An observer must not change what it observes: with host energy, and with link energy too (whose
// waits go through wait_any, sim/comm_waits.hpp), client sampling, gossip and the star keep every
// row and summary figure of the same run without energy, energy apart.
TEST(WorldEnergy, TurningEnergyOnChangesNoSimulatedResult) {
  TempDir dir;
  const auto run = [&](const std::string& scenario, const std::string& energy, const std::string& name) {
    const auto r = run_dmlsim(fmt::format("run -q {} {} --set training.rounds=30 -o {}", scenario, energy, (dir / name).string()));
    EXPECT_EQ(r.exit_code, 0) << scenario << r.out;
    auto summary = nlohmann::json::parse(read_text(dir / name / "summary.json"));
    summary["result"].erase("wall_time");
    summary.erase("energy");
    return std::make_pair(read_text(dir / name / "rounds.csv"), summary.dump());
  };
  for (const std::string algorithm : {"fedavg", "dpsgd", "ssgd"}) {
    const auto scenario = fmt::format("scenarios/wan/{}.xml", algorithm);
    const auto [rounds, summary] = run(scenario, "", algorithm);
    for (const std::string energy : {"--set energy.host-idle=100W", "--set energy.links=true"}) {
      const auto [with_rounds, with_summary] = run(scenario, energy, algorithm + "-energy");
      EXPECT_NE(with_rounds.find("energy_joules"), std::string::npos);
      EXPECT_TRUE(without_energy(with_rounds) == rounds) << algorithm << " " << energy;
      EXPECT_EQ(with_summary, summary) << algorithm << " " << energy;
    }
  }
}
