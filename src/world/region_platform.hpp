// Writes a SimGrid platform from a region matrix: one cluster zone per region (hosts, private LAN
// links, a backbone, a gateway router) as a child of the root zone, so placement="zones" and the
// hierarchical topology see one zone per region; one full-duplex WAN link per region pair, with
// one-way latency = RTT / 2 and the pair's bandwidth. Pure code: no SimGrid.
#pragma once

#include "world/region_matrix.hpp"

#include <string>

namespace dmlsim {

struct RegionPlatformOptions {
  int hosts_per_region = 1;
  std::string lan_bandwidth = "10Gbps", lan_latency = "20us";       // each host's private link
  std::string backbone_bandwidth = "100Gbps", backbone_latency = "5us";
  std::string speed = "20Gf";                                       // FLOP/s of every host
  // Host power states for SimGrid's host energy plugin, written as host properties.
  std::string wattage_per_state = "100.0:200.0";  // idle : fully busy (one core), watts
  std::string wattage_off = "10";
  std::string command;  // the command line that generated the file, recorded in its header
};

// The platform XML, deterministic (same matrix and options → same bytes).
std::string region_platform_xml(const RegionMatrix& matrix, const RegionPlatformOptions& options);

// "wan-<a>-<b>": the WAN link of a pair.
std::string wan_link_name(const RegionPair& pair);

}  // namespace dmlsim
