#include "cli/platform_command.hpp"

#include "cli/commands.hpp"
#include "scenario/scenario.hpp"
#include "util/atomic_file.hpp"
#include "util/units.hpp"
#include "world/region_platform.hpp"
#include "util/quote.hpp"

#include <fmt/format.h>
#include <iostream>
#include <memory>

namespace dmlsim {

namespace {

struct PlatformCliOptions {
  std::string matrix, out;
  int hosts_per_region = 0;
  std::string lan = "10Gbps:20us", backbone = "100Gbps:5us";
  ColumnChoice columns;
  RegionPlatformOptions platform;
};

// "10Gbps:50us" → bandwidth and latency, each checked for its unit.
std::pair<std::string, std::string> link_spec(const std::string& option, const std::string& text) {
  const auto colon = text.find(':');
  const auto bandwidth = text.substr(0, colon), latency = colon == std::string::npos ? "" : text.substr(colon + 1);
  try {
    if (colon == std::string::npos) throw std::invalid_argument("expected BANDWIDTH:LATENCY, e.g. 10Gbps:20us");
    for (const auto& [value, unit_hint] : {std::pair{bandwidth, "bandwidth"}, std::pair{latency, "latency"}}) {
      const auto last = value.empty() ? '0' : value.back();
      if (std::isdigit(static_cast<unsigned char>(last)) || last == '.')
        throw std::invalid_argument(fmt::format("{} {} needs a unit", unit_hint, quote_input(value)));
    }
    if (!(parse_bandwidth(bandwidth) > 0) || !(parse_time(latency) >= 0))
      throw std::invalid_argument("bandwidth must be positive and latency not negative");
  } catch (const std::invalid_argument& e) {
    throw ScenarioError("command line", 0, fmt::format("{} {}: {}", option, text, e.what()));
  }
  return {bandwidth, latency};
}

std::string command_text(const PlatformCliOptions& o) {
  std::string text = fmt::format("dmlsim platform --regions {} --hosts-per-region {}", o.matrix, o.hosts_per_region);
  if (!o.columns.rtt.empty()) text += " --rtt-column " + o.columns.rtt;
  if (!o.columns.bandwidth.empty()) text += " --bw-column " + o.columns.bandwidth;
  // The output file is left out, so the same command writes the same bytes wherever it writes.
  return text + fmt::format(" --lan {} --backbone {} -o FILE", o.lan, o.backbone);
}

int platform_command(PlatformCliOptions o) {
  try {
    std::tie(o.platform.lan_bandwidth, o.platform.lan_latency) = link_spec("--lan", o.lan);
    std::tie(o.platform.backbone_bandwidth, o.platform.backbone_latency) = link_spec("--backbone", o.backbone);
    o.platform.hosts_per_region = o.hosts_per_region;
    o.platform.command = command_text(o);
    const auto matrix = read_region_matrix(o.matrix, o.columns);
    write_file_atomically(o.out, region_platform_xml(matrix, o.platform));
    return 0;
  } catch (const ScenarioError& e) {
    std::cerr << "dmlsim: " << printable(e.what()) << '\n';
    return kExitBadInput;
  } catch (const OutputError& e) {  // as `run`'s results: the input was good, the writing failed
    std::cerr << "dmlsim: -o " << printable(std::string(o.out)) << ": the platform could not be written, nothing was: " << printable(e.what()) << '\n';
    return kExitRunFailed;
  } catch (const std::runtime_error& e) {
    std::cerr << "dmlsim: platform: " << printable(e.what()) << '\n';
    return kExitBadInput;
  }
}

}  // namespace

std::function<int()> add_platform_command(CLI::App& app) {
  auto o = std::make_shared<PlatformCliOptions>();
  auto* command = app.add_subcommand("platform", "Write a SimGrid platform from a measured region latency/bandwidth matrix");
  command->add_option("--regions", o->matrix, "CSV: region_a,region_b, then columns with their unit in their name")
      ->required();
  command->add_option("--hosts-per-region", o->hosts_per_region, "Hosts in each region's cluster")
      ->required()
      ->check(CLI::Range(1, 100000));
  command->add_option("--lan", o->lan, "Each host's private link BANDWIDTH:LATENCY (default 10Gbps:20us)");
  command->add_option("--backbone", o->backbone, "Each cluster's backbone BANDWIDTH:LATENCY (default 100Gbps:5us)");
  command->add_option("--rtt-column", o->columns.rtt,
                      "Round-trip time column NAME or NAME:UNIT (default: the first column named rtt…)");
  command->add_option("--bw-column", o->columns.bandwidth,
                      "Bandwidth column NAME or NAME:UNIT (default: the first column with a bandwidth unit in its name)");
  command->add_option("-o,--out", o->out, "Platform XML file to write")->required();
  return [=]() -> int { return command->parsed() ? platform_command(*o) : -1; };
}

}  // namespace dmlsim
