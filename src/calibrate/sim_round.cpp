#include "calibrate/sim_round.hpp"

#include "util/child_process.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <simgrid/s4u.hpp>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

XBT_LOG_NEW_DEFAULT_CATEGORY(dmlsim_calibrate, "dmlsim calibration rounds");

namespace dmlsim::calibrate {

namespace {

namespace sg4 = simgrid::s4u;
namespace fs = std::filesystem;

std::string platform_xml(const SimulatedPath& path) {
  return fmt::format(R"(<?xml version="1.0"?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<platform version="4.1">
  <zone id="calibration" routing="Full">
    <host id="client" speed="1Gf"/>
    <host id="server" speed="1Gf"/>
    <link id="path" bandwidth="{:.17g}Bps" latency="{:.17g}s" sharing_policy="SPLITDUPLEX"/>
    <route src="client" dst="server"><link_ctn id="path" direction="UP"/></route>
  </zone>
</platform>
)",
                     path.bandwidth, path.latency);
}

// The engine of a child: configured, platform loaded, network model installed.
std::unique_ptr<sg4::Engine> start_engine(const NetworkSetup& network, const fs::path& platform) {
  int argc = 2;
  char arg0[] = "dmlsim-calibrate";
  char arg1[] = "--log=xbt_cfg.thres:warning";
  char* argv[] = {arg0, arg1, nullptr};
  auto engine = std::make_unique<sg4::Engine>(&argc, argv);
  apply_network_config(network.config);
  engine->load_platform(platform.string());
  install_network_model(network);
  return engine;
}

// Writes `platform_text` to a private temporary file, runs `body(file)` in a child, and cleans up.
std::string in_child_with_platform(const std::string& platform_text,
                                   const std::function<std::string(const fs::path&)>& body) {
  const auto dir = fs::temp_directory_path() / fmt::format("dmlsim-calibrate-{}", ::getpid());
  fs::create_directories(dir);
  const auto platform = dir / "platform.xml";
  std::ofstream(platform) << platform_text;
  std::string out;
  try {
    out = run_in_child([&] { return body(platform); });
  } catch (...) {
    fs::remove_all(dir);
    throw;
  }
  fs::remove_all(dir);
  return out;
}

// Runs in the child: one engine, the rounds one after the other, times written as text.
std::string run_rounds(const NetworkSetup& network, const fs::path& platform, double gap, const std::vector<double>& sizes) {
  auto engine_owner = start_engine(network, platform);
  auto& engine = *engine_owner;
  std::vector<double> times;
  static int token = 0;
  // Receives are posted before the matching sends, so each transfer starts when it is sent.
  sg4::Actor::create("server", engine.host_by_name("server"), [&sizes, gap] {
    for (double bytes : sizes) {
      sg4::Mailbox::by_name("to-server")->get<int>();
      sg4::this_actor::sleep_for(gap);
      sg4::Mailbox::by_name("to-client")->put(&token, static_cast<std::uint64_t>(bytes));
    }
  });
  sg4::Actor::create("client", engine.host_by_name("client"), [&sizes, &times] {
    for (double bytes : sizes) {
      const double start = sg4::Engine::get_clock();
      sg4::Mailbox::by_name("to-server")->put(&token, static_cast<std::uint64_t>(bytes));
      sg4::Mailbox::by_name("to-client")->get<int>();
      times.push_back(sg4::Engine::get_clock() - start);
      XBT_DEBUG("%.0f bytes: %.9f s", bytes, times.back());
    }
  });
  engine.run();
  std::string out;
  for (double t : times) out += fmt::format("{:.17g}\n", t);
  return out;
}

// Runs in the child: the flows' same-size loop; one line per round: its start, then each flow's finish.
std::string run_flow_rounds(const NetworkSetup& network, const fs::path& platform, double gap, double bytes, int flows,
                            int total_rounds) {
  auto engine_owner = start_engine(network, platform);
  auto& engine = *engine_owner;
  std::vector<std::vector<double>> finish(total_rounds, std::vector<double>(flows));
  std::vector<double> starts(total_rounds);
  static int token = 0;
  const auto size = static_cast<std::uint64_t>(bytes);
  const auto barrier = sg4::Barrier::create(flows);
  for (int f = 0; f < flows; ++f) {
    auto* to_server = sg4::Mailbox::by_name(fmt::format("to-server{}", f));
    auto* to_client = sg4::Mailbox::by_name(fmt::format("to-client{}", f));
    sg4::Actor::create("server", engine.host_by_name(fmt::format("server{}", f)), [=] {
      for (int r = 0; r < total_rounds; ++r) {
        to_server->get<int>();
        sg4::this_actor::sleep_for(gap);
        to_client->put(&token, size);
      }
    });
    sg4::Actor::create("client", engine.host_by_name(fmt::format("client{}", f)), [=, &finish, &starts] {
      for (int r = 0; r < total_rounds; ++r) {
        barrier->wait();  // every flow of a round starts at the same instant
        const double start = sg4::Engine::get_clock();
        starts[r] = start;
        to_server->put(&token, size);
        to_client->get<int>();
        finish[r][f] = sg4::Engine::get_clock() - start;
      }
    });
  }
  engine.run();
  std::string out;
  for (int r = 0; r < total_rounds; ++r) {
    out += fmt::format("{:.17g}", starts[r] - starts[0]);
    for (double t : finish[r]) out += fmt::format(" {:.17g}", t);
    out += "\n";
  }
  return out;
}

}  // namespace

// N clients and N servers, each on a private access link ten times the path's bandwidth and without
// latency, all crossing the one bottleneck.
std::string bottleneck_platform_xml(const SimulatedPath& path, int flows) {
  std::string hosts, routes;
  for (int i = 0; i < flows; ++i) {
    hosts += fmt::format(R"(    <host id="client{0}" speed="1Gf"/>
    <host id="server{0}" speed="1Gf"/>
    <link id="client{0}-access" bandwidth="{1:.17g}Bps" latency="0s" sharing_policy="SPLITDUPLEX"/>
    <link id="server{0}-access" bandwidth="{1:.17g}Bps" latency="0s" sharing_policy="SPLITDUPLEX"/>
)",
                         i, 10 * path.bandwidth);
    routes += fmt::format(R"(    <route src="client{0}" dst="server{0}"><link_ctn id="client{0}-access" direction="UP"/><link_ctn id="bottleneck" direction="UP"/><link_ctn id="server{0}-access" direction="DOWN"/></route>
)",
                          i);
  }
  return fmt::format(R"(<?xml version="1.0"?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<platform version="4.1">
  <zone id="calibration" routing="Full">
{}    <link id="bottleneck" bandwidth="{:.17g}Bps" latency="{:.17g}s" sharing_policy="SPLITDUPLEX"/>
{}  </zone>
</platform>
)",
                     hosts, path.bandwidth, path.latency, routes);
}

std::vector<SimulatedRound> simulate_flow_rounds(const NetworkSetup& network, const SimulatedPath& path, double bytes,
                                                 int flows, int warmup, int rounds) {
  const int total = warmup + rounds;
  const auto out = in_child_with_platform(bottleneck_platform_xml(path, flows), [&](const fs::path& platform) {
    return run_flow_rounds(network, platform, path.gap, bytes, flows, total);
  });
  std::vector<SimulatedRound> result;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream values(line);
    SimulatedRound round;
    values >> round.start;
    for (double t = 0; values >> t;) round.finish.push_back(t);
    if (round.finish.size() != static_cast<std::size_t>(flows)) break;
    round.time = *std::max_element(round.finish.begin(), round.finish.end());
    result.push_back(round);
  }
  if (result.size() != static_cast<std::size_t>(total)) throw std::runtime_error("the simulated rounds did not all complete: " + out);
  return result;
}

std::vector<double> simulate_rounds(const NetworkSetup& network, const SimulatedPath& path, const std::vector<double>& sizes) {
  const auto out = in_child_with_platform(platform_xml(path), [&](const fs::path& platform) {
    return run_rounds(network, platform, path.gap, sizes);
  });
  std::vector<double> times;
  std::istringstream lines(out);
  for (double t = 0; lines >> t;) times.push_back(t);
  if (times.size() != sizes.size()) throw std::runtime_error("the simulated rounds did not all complete: " + out);
  return times;
}

}  // namespace dmlsim::calibrate
