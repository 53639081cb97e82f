#include "sim/config_check.hpp"

#include "util/child_process.hpp"
#include "util/quote.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <xbt/log.h>

namespace dmlsim {

namespace {

using Choices = std::vector<std::string>;

// Beyond this one-way latency SimGrid's clock outgrows its solver's precision: runs abort mid-way
// ("The Impossible Did Happen") once the clock reaches about 1e6 s. No terrestrial link comes near.
constexpr double kMaxLatency = 1e4;

// The values SimGrid 3.32 accepts (its --help-models and --help-cfg; contexts/factory: the
// factories of Debian's build). Anything else aborts the process or is ignored.
const std::map<std::string, Choices>& choice_items() {
  static const Choices solvers = {"maxmin", "fairbottleneck", "bmf"};
  static const Choices optims = {"Lazy", "TI", "Full"};
  static const std::map<std::string, Choices> items = {
      {"network/model", {"CM02", "LV08", "SMPI", "IB", "Constant", "ns-3"}},
      {"cpu/model", {"Cas01"}},
      {"host/model", {"default", "compound", "ptask_L07"}},
      {"disk/model", {"default"}},
      {"network/optim", optims},
      {"cpu/optim", optims},
      {"network/solver", solvers},
      {"cpu/solver", solvers},
      {"host/solver", solvers},
      {"disk/solver", solvers},
      {"contexts/factory", {"raw", "ucontext", "boost", "thread"}},
      {"contexts/synchro", {"futex", "posix", "busy_wait"}},
  };
  return items;
}

struct Range {
  double min;
  bool min_inclusive;
  bool integer;
  const char* why = "";  // appended to the refusal
};

// Below this many KiB an actor's stack overflows inside the training code (Eigen's temporaries)
// and SimGrid dies of a segmentation fault mid-run; the smallest size that runs depends on the
// model, so the minimum keeps a wide margin above what the shipped scenarios need.
constexpr long kMinStackKib = 512;

// Numeric items and the values that make sense (SimGrid takes a negative factor or stack size
// without complaint and then misbehaves).
const std::map<std::string, Range>& numeric_items() {
  static const std::map<std::string, Range> items = {
      {"network/TCP-gamma", {0, true, false}},         {"network/latency-factor", {0, false, false}},
      {"network/bandwidth-factor", {0, false, false}}, {"network/weight-S", {0, true, false}},
      {"maxmin/precision", {0, false, false}},         {"surf/precision", {0, false, false}},
      {"network/loopback-bw", {0, false, false}},      {"network/loopback-lat", {0, true, false}},
      {"contexts/stack-size", {kMinStackKib, true, true, " KiB: smaller actor stacks overflow in the training code"}},        {"contexts/guard-size", {0, true, true}},
      {"contexts/nthreads", {1, true, true}},
  };
  return items;
}

double number_of(const std::string& key, const std::string& value, const Range& range) {
  const char* begin = value.c_str();
  char* end = nullptr;
  errno = 0;
  const double number = range.integer ? static_cast<double>(std::strtol(begin, &end, 10)) : std::strtod(begin, &end);
  if (value.empty() || end != begin + value.size() || errno == ERANGE)
    throw std::invalid_argument(fmt::format("SimGrid configuration {}: {} is not {}", quote_input(key + ":" + value), quote_input(value),
                                            range.integer ? "an integer" : "a number"));
  return number;
}

std::string find_value(const ConfigList& config, const std::string& key, const std::string& fallback) {
  std::string value = fallback;
  for (const auto& [k, v] : config)
    if (k == key) value = v;
  return value;
}

// Number of lines of /proc/self/maps: the mappings this process already holds.
long mappings_in_use() {
  std::ifstream maps("/proc/self/maps");
  long count = 0;
  for (std::string line; std::getline(maps, line);) ++count;
  return count;
}

long read_long(const char* file, long fallback) {
  std::ifstream in(file);
  long value = fallback;
  return in >> value ? value : fallback;
}

// SimGrid's messages without its log prefix ("[0.000000] ./src/….cpp:105: [root/CRITICAL] ") and
// without the backtrace that follows an abort.
std::string without_log_prefix(const std::string& line) {
  if (line.empty() || line.front() != '[') return line;
  for (auto open = line.find(" ["); open != std::string::npos; open = line.find(" [", open + 1)) {
    const auto close = line.find("] ", open);
    if (close == std::string::npos) break;
    const auto tag = line.substr(open + 2, close - open - 2);  // "root/CRITICAL"
    if (tag.find('/') != std::string::npos && tag.find(' ') == std::string::npos) return line.substr(close + 2);
  }
  return line;
}

std::string simgrid_message(const std::string& diagnostics) {
  std::istringstream lines(diagnostics);
  std::string message;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.rfind("Backtrace", 0) == 0 || line.rfind("  ->", 0) == 0) continue;
    line = without_log_prefix(line);
    message += (message.empty() ? "" : "; ") + line;
  }
  return message;
}

}  // namespace

void check_simgrid_config(const ConfigList& config) {
  for (const auto& [key, value] : config) {
    // SimGrid parses "key:value" as a list split at spaces, tabs, newlines and commas, and aborts
    // on a piece without ':' ("1,2:0" is the items "1" and "2:0").
    if (key.empty() || (key + value).find_first_of(" \t\n,") != std::string::npos)
      throw std::invalid_argument(fmt::format("SimGrid configuration {}: an item's name must not be empty, and "
                                              "neither name nor value may hold a space, tab, newline or comma",
                                              quote_input(key + ":" + value)));
    if (const auto it = choice_items().find(key); it != choice_items().end()) {
      const auto& choices = it->second;
      if (std::find(choices.begin(), choices.end(), value) == choices.end())
        throw std::invalid_argument(fmt::format("SimGrid configuration {}: {} is not one of {}", quote_input(key + ":" + value),
                                                quote_input(value), fmt::join(choices, ", ")));
    }
    if (const auto it = numeric_items().find(key); it != numeric_items().end()) {
      const auto& range = it->second;
      const double number = number_of(key, value, range);
      if (number < range.min || (!range.min_inclusive && number == range.min))
        throw std::invalid_argument(fmt::format("SimGrid configuration {}: must be {} {}{}", quote_input(key + ":" + value),
                                                range.min_inclusive ? "at least" : "above", range.min, range.why));
    }
  }
}

std::vector<std::string>& log_arguments() {
  static std::vector<std::string> arguments;
  return arguments;
}

void use_log_settings(const std::vector<std::string>& settings) {
  for (const auto& setting : settings) {
    const auto outcome = run_capturing_stderr([&] { xbt_log_control_set(setting.c_str()); });
    if (!outcome.succeeded) {
      const auto message = simgrid_message(outcome.diagnostics);
      throw std::invalid_argument(fmt::format("--log={}: SimGrid rejects it: {}", setting, message.empty() ? outcome.ending : message));
    }
    log_arguments().push_back("--log=" + setting);
  }
}

std::vector<std::string> engine_arguments(const ConfigList& config) {
  std::vector<std::string> arguments = log_arguments();
#ifdef DMLSIM_SANITIZE
  // AddressSanitizer cannot follow SimGrid's raw stack switches: in the sanitizer build actors are
  // threads unless the configuration names a factory.
  if (find_value(config, "contexts/factory", "").empty()) arguments.emplace_back("--cfg=contexts/factory:thread");
#endif
  for (const auto& [key, value] : config)
    if (key.rfind("contexts/", 0) == 0) arguments.push_back(fmt::format("--cfg={}:{}", key, value));
  return arguments;
}

void check_actor_limits(long actors, const ConfigList& config) {
  const long guard_pages = std::strtol(find_value(config, "contexts/guard-size", "1").c_str(), nullptr, 10);
  const long stack_kib = std::strtol(find_value(config, "contexts/stack-size", "8192").c_str(), nullptr, 10);
  if (find_value(config, "contexts/factory", "raw") == "thread") return;  // threads: the system's stacks
  // A guard page protected inside each stack splits it from its neighbours: two mappings per actor.
  const long per_actor = guard_pages > 0 ? 2 : 0;
  const long limit = read_long("/proc/sys/vm/max_map_count", 65530);
  const long in_use = mappings_in_use();
  if (per_actor * actors + in_use > limit)
    throw std::invalid_argument(fmt::format(
        "{} actors (workers, helpers, the server and its broadcast senders) need about {} memory mappings for their guarded stacks, and this "
        "process already holds {}, but vm.max_map_count is {}: give fewer workers, drop the guard pages "
        "(--cfg contexts/guard-size:0) or raise the limit (sysctl vm.max_map_count={})",
        actors, per_actor * actors, in_use, limit, per_actor * actors + in_use + 1000));
  rlimit address_space{};
  if (::getrlimit(RLIMIT_AS, &address_space) == 0 && address_space.rlim_cur != RLIM_INFINITY) {
    const double needed = static_cast<double>(actors) * static_cast<double>(stack_kib) * 1024.0;
    if (needed > static_cast<double>(address_space.rlim_cur))
      throw std::invalid_argument(fmt::format(
          "{} actor stacks of {} KiB need {:.3g} GB of address space, above this process's limit (ulimit -v) of "
          "{:.3g} GB: give fewer workers or smaller stacks (--cfg contexts/stack-size:KiB)",
          actors, stack_kib, needed / 1e9, static_cast<double>(address_space.rlim_cur) / 1e9));
  }
}

void check_platform_in_child(const std::string& platform_file) {
  const auto outcome = run_capturing_stderr([&] { simgrid::s4u::Engine::get_instance()->load_platform(platform_file); });
  if (!outcome.succeeded) {
    const auto message = simgrid_message(outcome.diagnostics);
    throw std::invalid_argument("SimGrid rejects this platform: " + (message.empty() ? outcome.ending : message));
  }
}

void check_platform_resources() {
  const auto* engine = simgrid::s4u::Engine::get_instance();
  for (const auto* link : engine->get_all_links()) {
    const double bandwidth = link->get_bandwidth(), latency = link->get_latency();
    if (!(bandwidth > 0) || !std::isfinite(bandwidth))
      throw std::invalid_argument(fmt::format("link {} has bandwidth {} B/s: it must be positive and finite "
                                              "(SimGrid would treat 0 as unlimited)", quote_input(link->get_name()), bandwidth));
    if (!(latency >= 0) || latency > kMaxLatency)
      throw std::invalid_argument(fmt::format("link {} has latency {} s: it must be between 0 and {} s",
                                              quote_input(link->get_name()), latency, kMaxLatency));
  }
  for (const auto* host : engine->get_all_hosts()) {
    const double speed = host->get_speed();
    if (!(speed > 0) || !std::isfinite(speed))
      throw std::invalid_argument(fmt::format("host {} has speed {} FLOP/s: it must be positive and finite",
                                              quote_input(host->get_name()), speed));
  }
}

}  // namespace dmlsim
