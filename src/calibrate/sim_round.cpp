#include "calibrate/sim_round.hpp"

#include "util/child_process.hpp"

#include <array>
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

// Runs in the child: one engine, the rounds one after the other, times written as text.
std::string run_rounds(const NetworkSetup& network, const fs::path& platform, double gap, const std::vector<double>& sizes) {
  int argc = 2;
  char arg0[] = "dmlsim-calibrate";
  char arg1[] = "--log=xbt_cfg.thres:warning";
  char* argv[] = {arg0, arg1, nullptr};
  sg4::Engine engine(&argc, argv);
  apply_network_config(network.config);
  engine.load_platform(platform.string());
  install_network_model(network);
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

}  // namespace

std::vector<double> simulate_rounds(const NetworkSetup& network, const SimulatedPath& path, const std::vector<double>& sizes) {
  const auto dir = fs::temp_directory_path() / fmt::format("dmlsim-calibrate-{}", ::getpid());
  fs::create_directories(dir);
  const auto platform = dir / "two-hosts.xml";
  std::ofstream(platform) << platform_xml(path);
  std::string out;
  try {
    out = run_in_child([&] { return run_rounds(network, platform, path.gap, sizes); });
  } catch (...) {
    fs::remove_all(dir);
    throw;
  }
  fs::remove_all(dir);
  std::vector<double> times;
  std::istringstream lines(out);
  for (double t = 0; lines >> t;) times.push_back(t);
  if (times.size() != sizes.size()) throw std::runtime_error("the simulated rounds did not all complete: " + out);
  return times;
}

}  // namespace dmlsim::calibrate
