// Network model selection. CM02 with TCP-gamma lifted is dmlsim's default because, measured on
// Linux TCP over a 100 ms emulated link, it is within 4 % for 248 B and 8 MB messages (15–45 %
// fast for 64 KiB–1 MB, where TCP slow start bites), while SimGrid's own default LV08 is 2.6–12×
// too slow on long links and the ns-3 binding 3–5× too slow.
#pragma once

#include "scenario/scenario.hpp"

#include <string>
#include <utility>
#include <vector>

namespace dmlsim {

using ConfigList = std::vector<std::pair<std::string, std::string>>;

// The SimGrid configuration a run uses: the model, the scenario's <config> items, then the
// command line's --cfg items (last wins). Under CM02 the TCP-gamma cap is lifted unless set.
ConfigList resolve_network_config(const NetworkSpec& spec, const ConfigList& command_line);

// One line for outputs, e.g. "CM02, TCP-gamma cap lifted (dmlsim default; ...)".
std::string describe_network(const ConfigList& config);

// Applies the list to SimGrid. Must run after the Engine exists and before the platform is loaded.
// Throws std::runtime_error naming the offending item.
void apply_network_config(const ConfigList& config);

}  // namespace dmlsim
