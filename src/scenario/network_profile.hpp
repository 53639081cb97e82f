// Network profiles: small XML files naming a SimGrid network model and its options, so that a
// scenario can say <network profile="linux-tcp"/> instead of spelling out factors.
// Format (profiles/*.xml):
//   <network-profile name="linux-tcp" model="CM02">
//     <description>one line shown in run outputs</description>
//     <config name="network/TCP-gamma" value="1004120"/>     (any number, applied in order)
//     <factors latency="25ms" lat-factor="0:1.0;4031:1.3" bw-factor="0:0.9;4031:0.95"/>
//                       (CM02 only, one per fitted latency: factors by size and route latency,
//                        see scenario/factor_table.hpp)
//     <tcp mss="1448B" header="52B" initial-window="10" cubic-c="0.4" cubic-beta="0.7" rto-min="200ms"
//          rmem-max="6MiB" wmem-max="4MiB" slow-start-after-idle="on" hystart="on" queue="1000"/>
//                       (CM02 only, instead of <factors>: the TCP connection model of
//                        network/tcp_model.hpp with these physical parameters; sizes and times need
//                        units, initial-window is in segments, queue in packets (0 or absent: no losses))
//     <measurements ...> <round .../> </measurements>        (optional: what the factors were fitted to)
//   </network-profile>
// Profiles may also keep SimGrid's own options instead (model="SMPI" with smpi/lat-factor, ...).
// Pure code (no SimGrid): profiles are resolved while the scenario is read, so errors carry file:line.
#pragma once

#include "network/tcp_model.hpp"
#include "scenario/factor_table.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dmlsim {

struct ProfileRound {
  double latency = 0;    // one-way, seconds
  double bandwidth = 0;  // bytes per second
  double bytes = 0;      // message size of the round (each way)
  double real = 0;       // measured round time, seconds
};

struct NetworkProfile {
  std::string name;
  std::filesystem::path file;
  std::string model;  // SimGrid network/model
  std::vector<std::pair<std::string, std::string>> config;  // SimGrid configuration items, in order
  FactorTable factors;  // per-size, per-route-latency factors (<factors> rows); empty: none
  std::optional<tcp::TcpParams> tcp;  // the TCP connection model (<tcp>); none: not modelled
  std::string description;
  double gap = 0.010;  // compute gap of the measured rounds, seconds
  std::vector<ProfileRound> rounds;  // measurements the profile was fitted to (may be empty)
  std::string measured_date, measured_machine, measured_method;  // <measurements> attributes
};

// Where profiles named on the command line or in scenarios are looked up: $DMLSIM_PROFILE_PATH
// (colon-separated), then <executable dir>/../profiles, then the source tree's profiles/.
std::vector<std::filesystem::path> profile_search_dirs();

// A name ("linux-tcp") resolves to NAME.xml in the search directories; anything with a '/' or
// ending in ".xml" is a file, relative to `base_dir`. Throws std::invalid_argument (unknown name,
// missing file) listing the known profiles.
std::filesystem::path find_network_profile(const std::string& name_or_file, const std::filesystem::path& base_dir);

// Reads and validates a profile; throws ScenarioError ("profile.xml:line: message").
NetworkProfile load_network_profile(const std::filesystem::path& file);

// Names of the profiles in the search directories, sorted.
std::vector<std::string> known_network_profiles();

}  // namespace dmlsim
