#include "calibrate/calibrate.hpp"

#include "calibrate/profile_writer.hpp"
#include "calibrate/round_model.hpp"
#include "calibrate/sim_round.hpp"
#include "calibrate/tcp_link.hpp"
#include "scenario/network_profile.hpp"
#include "scenario/scenario.hpp"
#include "sim/network.hpp"
#include "util/atomic_file.hpp"
#include "util/units.hpp"
#include "util/quote.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

namespace dmlsim {

namespace {

using namespace calibrate;
namespace fs = std::filesystem;

constexpr int kExitBadInput = 2;
constexpr int kExitNetwork = 3;

// The default ladder: 256 B to 16 MiB in factors of 4.
const char* kDefaultSizes = "256,1KiB,4KiB,16KiB,64KiB,256KiB,1MiB,4MiB,16MiB";

struct Options {
  ServeOptions serve;
  std::string peer, out, json, name = "calibrated", sizes = kDefaultSizes, gap = "10ms";
  std::string assume_latency, assume_bandwidth, profile, latency, bandwidth, description;
  std::vector<std::string> inputs;
  int rounds = 5;
  int warmup = 2;
  int flows = 1;
  int sim_warmup = 0, sim_rounds = 1;  // simulate's same-size loop (probe has its own defaults)
  double timeout = 30, max_time = 900;
  std::string bandwidth_bytes = "16MiB";
  std::string congestion;
  CLI::App *serve_cmd = nullptr, *probe_cmd = nullptr, *simulate_cmd = nullptr, *fit_cmd = nullptr;
};

Options& options() {
  static Options o;
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double time_option(const std::string& name, const std::string& text) {
  try {
    return parse_time(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("{} {}: {}", name, text, e.what()));
  }
}

double bandwidth_option(const std::string& name, const std::string& text) {
  try {
    return parse_bandwidth(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("{} {}: {}", name, text, e.what()));
  }
}

// The profile's network as a run would install it.
NetworkSetup profile_network(const NetworkProfile& p) {
  NetworkSpec spec;
  spec.model = p.model;
  spec.profile = p;
  return resolve_network(spec, {});
}

// Simulated round time of every observation under `config`, one simulation per distinct path.
std::vector<double> simulate_observations(const NetworkSetup& network, const Measurements& m) {
  std::map<std::pair<double, double>, std::vector<std::size_t>> by_path;
  for (std::size_t i = 0; i < m.observations.size(); ++i)
    by_path[{m.observations[i].latency, m.observations[i].bandwidth}].push_back(i);
  std::vector<double> simulated(m.observations.size());
  for (const auto& [path, indices] : by_path) {
    std::vector<double> sizes;
    for (auto i : indices) sizes.push_back(m.observations[i].bytes);
    const auto times = simulate_rounds(network, {path.first, path.second, m.gap}, sizes);
    for (std::size_t k = 0; k < indices.size(); ++k) simulated[indices[k]] = times[k];
  }
  return simulated;
}

void print_table(const Measurements& m, const std::vector<double>& simulated) {
  fmt::print("{:>10} {:>12} {:>10} {:>12} {:>12} {:>8}\n", "latency", "bandwidth", "bytes", "measured", "simulated", "error");
  for (std::size_t i = 0; i < m.observations.size(); ++i) {
    const auto& o = m.observations[i];
    fmt::print("{:>8.4g}ms {:>8.5g}Mbps {:>10.0f} {:>10.6f} s {:>10.6f} s {:>+7.1f}%\n", o.latency * 1e3,
               o.bandwidth * 8e-6, o.bytes, o.time, simulated[i], 100 * (simulated[i] - o.time) / o.time);
  }
}

// Fits, simulates the fitted profile (SimGrid, not the formula), writes it; returns the simulated times.
std::vector<double> fit_and_write(const Measurements& m, const ProfileText& text, const fs::path& out) {
  const auto factors = fit_factors(m.observations, m.gap);
  NetworkProfile fitted;
  fitted.name = text.name;
  fitted.model = "CM02";
  fitted.config = {{"network/TCP-gamma", fmt::format("{:.0f}", factors.window)}};
  fitted.factors = factors;
  const auto simulated = simulate_observations(profile_network(fitted), m);
  if (!out.empty()) {
    write_file_atomically(out, profile_xml(text, factors, m, simulated));
    load_network_profile(out);  // what we wrote must read back
  }
  return simulated;
}

// The measurements a profile carries (its <measurements>), to refit it.
Measurements measurements_of_profile(const fs::path& file) {
  const auto profile = load_network_profile(file);
  if (profile.rounds.empty()) throw std::invalid_argument(fmt::format("{}: the profile has no <measurements> to fit", file.string()));
  Measurements m;
  m.date = profile.measured_date;
  m.machine = profile.measured_machine;
  m.method = profile.measured_method;
  m.gap = profile.gap;
  for (const auto& r : profile.rounds) {
    if (!(r.real > m.gap))
      throw std::invalid_argument(fmt::format("{}: a <round> of {:g} bytes is not longer than the gap", file.string(), r.bytes));
    m.observations.push_back({r.latency, r.bandwidth, r.bytes, r.real});
  }
  return m;
}

int serve_command() {
  serve(options().serve);
  return 0;
}

// Path latency: half the median round trip of 1-byte rounds without a gap.
double measure_latency(ProbeConnection& c) {
  std::vector<double> rtt;
  for (int i = 0; i < 11; ++i) rtt.push_back(c.round(1, 0));
  return median(rtt) / 2;
}

// Path bandwidth: the receiver's rate over the second half of a bulk transfer, best of two back to
// back (the second starts with the window the first opened).
double measure_bandwidth(ProbeConnection& c, double bytes) {
  const double rate = std::max(c.sink(static_cast<std::uint64_t>(bytes)), c.sink(static_cast<std::uint64_t>(bytes)));
  if (!(rate > 0)) throw LinkError("could not measure the bandwidth");
  return rate;
}

// One size's rounds on every flow: per round its start (seconds after the size's first round
// started), its time (the last flow's finish) and each flow's finish time.
struct RoundRecord {
  double start = 0;
  double time = 0;
  std::vector<double> finish;
};

nlohmann::json rounds_json(const std::vector<RoundRecord>& rounds, int first_index) {
  auto out = nlohmann::json::array();
  for (std::size_t i = 0; i < rounds.size(); ++i)
    out.push_back({{"index", first_index + static_cast<int>(i)}, {"start", rounds[i].start}, {"time", rounds[i].time},
                   {"finish", rounds[i].finish}});
  return out;
}

// A probe whose own host dropped packets meanwhile measured the host, not the path: more than
// one per 10,000 packets it sent (at least two allowed) flags it, the harness's bound.
std::string local_drop_flag(const InterfaceCounters& before, const InterfaceCounters& after) {
  const long long dropped = after.dropped - before.dropped, sent = after.sent - before.sent;
  const long long bound = std::max(2LL, sent / 10000);
  if (dropped <= bound) return "";
  return fmt::format("this host's network interfaces dropped {} packets during the probe (bound {}: 1 per 10,000 of the {} sent)",
                     dropped, bound, sent);
}

int probe_command() {
  auto& o = options();
  const auto sizes = parse_sizes(o.sizes);
  const double gap = time_option("--gap", o.gap);
  const double big = parse_sizes(o.bandwidth_bytes).front();
  if (o.flows > 1 && !o.out.empty())
    throw std::invalid_argument("--out: a profile is fitted to one connection's rounds; --flows measures contention (use --json)");
  const double start = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  auto check_budget = [&] {
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    if (now - start > o.max_time) throw LinkError(fmt::format("the probe ran longer than --max-time {:g} s", o.max_time));
  };
  const auto counters_before = interface_counters();
  std::vector<std::unique_ptr<ProbeConnection>> connections;
  std::vector<ProbeConnection*> flows;
  for (int i = 0; i < o.flows; ++i) {
    connections.push_back(std::make_unique<ProbeConnection>(o.peer, o.timeout, o.congestion));
    flows.push_back(connections.back().get());
    try {
      flows.back()->round(1, 0);  // warm-up: the connection's first exchange
    } catch (const LinkError& e) {
      throw LinkError(fmt::format("{} accepted the connection but does not answer like `dmlsim calibrate serve`: {}",
                                  o.peer, e.what()));
    }
  }
  ProbeConnection& c = *flows.front();
  // Both given (an emulated link of known latency and rate): nothing to measure, and the
  // connection's first rounds are the warm-up rounds, as in a training run.
  double latency = o.assume_latency.empty() ? 0 : time_option("--assume-latency", o.assume_latency);
  double bandwidth = o.assume_bandwidth.empty() ? 0 : bandwidth_option("--assume-bandwidth", o.assume_bandwidth);
  if (o.assume_latency.empty() || o.assume_bandwidth.empty()) {
    const double measured_latency = measure_latency(c);
    const double measured_bandwidth = measure_bandwidth(c, big);
    fmt::print("path {}: latency {:.4f} ms (half the median 1-byte round trip), bandwidth {:.4g} Mbps (second half of a bulk transfer)\n",
               o.peer, measured_latency * 1e3, measured_bandwidth * 8e-6);
    if (o.assume_latency.empty()) latency = measured_latency;
    if (o.assume_bandwidth.empty()) bandwidth = measured_bandwidth;
  }

  Measurements m;
  m.date = utc_now();
  m.machine = machine_name();
  m.gap = gap;
  m.method = fmt::format("dmlsim calibrate probe {}: {} persistent TCP connection(s) (TCP_NODELAY), per size {} warm-up rounds + "
                         "median of {} rounds of S bytes out on every connection at once, {:g} ms gap, S bytes back (a round ends with "
                         "the last answer); congestion control {}; path latency {:.6g} ms and bandwidth {:.6g} Mbps {}",
                         o.peer, o.flows, o.warmup, o.rounds, gap * 1e3, o.congestion.empty() ? "system default" : o.congestion,
                         latency * 1e3, bandwidth * 8e-6,
                         o.assume_latency.empty() && o.assume_bandwidth.empty() ? "measured" : "given/measured");
  std::vector<std::pair<std::vector<RoundRecord>, std::vector<RoundRecord>>> detail;  // (warm-up, measured) per size
  for (double bytes : sizes) {
    // TCP needs a few rounds to settle after a size change (window growth, restart after idle).
    std::vector<RoundRecord> warm, measured;
    const double first = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    for (int i = 0; i < o.warmup + o.rounds; ++i) {
      check_budget();
      RoundRecord r;
      r.start = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count() - first;
      r.finish = ProbeConnection::round_together(flows, static_cast<std::uint64_t>(bytes), gap);
      r.time = *std::max_element(r.finish.begin(), r.finish.end());
      (i < o.warmup ? warm : measured).push_back(r);
    }
    std::vector<double> times;
    for (const auto& r : measured) times.push_back(r.time);
    m.observations.push_back({latency, bandwidth, bytes, median(times)});
    m.samples.push_back(times);
    detail.emplace_back(std::move(warm), std::move(measured));
  }
  for (auto* f : flows) f->bye();
  const std::string flag = local_drop_flag(counters_before, interface_counters());
  if (!flag.empty() && !o.out.empty())
    throw std::invalid_argument(fmt::format("--out {}: not written: {}; re-measure on a quiet host", o.out, flag));

  if (!o.json.empty()) {
    auto j = nlohmann::json::parse(measurements_json(m));
    j["flows"] = o.flows;
    j["warmup"] = o.warmup;
    j["flagged"] = !flag.empty();
    j["flag_reason"] = flag;
    for (std::size_t i = 0; i < detail.size(); ++i) {
      j["observations"][i]["warmup_rounds"] = rounds_json(detail[i].first, 0);
      j["observations"][i]["rounds"] = rounds_json(detail[i].second, o.warmup);
    }
    write_file_atomically(o.json, j.dump(2) + "\n");
    if (!flag.empty()) fmt::print(stderr, "dmlsim calibrate probe: {} ({} marked flagged)\n", flag, o.json);
  }
  if (o.flows > 1) {
    for (std::size_t i = 0; i < sizes.size(); ++i)
      fmt::print("{:>10.0f} bytes x {} flows: median round {:.6f} s\n", sizes[i], o.flows, m.observations[i].time);
    return 0;
  }
  const ProfileText text{o.name,
                         fmt::format("fitted by dmlsim calibrate probe to {} on {} (path latency {:.4g} ms, bandwidth "
                                     "{:.4g} Mbps: give your platform's link these values)",
                                     o.peer, m.date, latency * 1e3, bandwidth * 8e-6),
                         "Network profile written by dmlsim calibrate probe."};
  const auto simulated = fit_and_write(m, text, o.out);
  print_table(m, simulated);
  if (!o.out.empty()) fmt::print("profile written to {} (use <network profile=\"{}\"/>)\n", o.out, o.out);
  return 0;
}

// One simulated same-size loop as JSON, in the measurement contract's terms.
nlohmann::json rounds_json(const std::vector<SimulatedRound>& rounds, std::size_t first, std::size_t last) {
  auto list = nlohmann::json::array();
  for (std::size_t i = first; i < last; ++i)
    list.push_back({{"index", i}, {"start", rounds[i].start}, {"time", rounds[i].time}, {"finish", rounds[i].finish}});
  return list;
}

int simulate_command() {
  auto& o = options();
  const auto profile = load_network_profile(find_network_profile(o.profile, fs::current_path()));
  const auto sizes = parse_sizes(o.sizes);
  const SimulatedPath path{time_option("--latency", o.latency), bandwidth_option("--bandwidth", o.bandwidth),
                           time_option("--gap", o.gap)};
  const auto network = profile_network(profile);
  std::vector<double> medians;
  auto cells = nlohmann::json::array();
  // Each size is its own cell: fresh connections, warm-up rounds, measured rounds.
  for (double bytes : sizes) {
    const auto rounds = simulate_flow_rounds(network, path, bytes, o.flows, o.sim_warmup, o.sim_rounds);
    std::vector<double> measured;
    for (std::size_t i = o.sim_warmup; i < rounds.size(); ++i) measured.push_back(rounds[i].time);
    medians.push_back(median(measured));
    cells.push_back({{"bytes", bytes}, {"median", medians.back()},
                     {"warmup_rounds", rounds_json(rounds, 0, o.sim_warmup)},
                     {"rounds", rounds_json(rounds, o.sim_warmup, rounds.size())}});
  }
  if (!o.json.empty()) {
    nlohmann::json j = {{"profile", profile.name}, {"file", profile.file.string()}, {"latency", path.latency},
                        {"bandwidth", path.bandwidth}, {"gap", path.gap}, {"flows", o.flows},
                        {"warmup", o.sim_warmup}, {"rounds", o.sim_rounds}, {"bytes", sizes},
                        {"time", medians}, {"median", medians}, {"cells", cells}};
    write_file_atomically(o.json, j.dump(2) + "\n");
  }
  for (std::size_t i = 0; i < sizes.size(); ++i) fmt::print("{:.0f} {:.9f}\n", sizes[i], medians[i]);
  return 0;
}

// A measurement flagged for emulator (or host) drops measured the emulator, not TCP: no profile from it.
void refuse_flagged(const std::string& file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const std::exception& e) {
    throw std::invalid_argument(fmt::format("{}: {}", file, e.what()));
  }
  if (j.is_object() && j.value("flagged", false))
    throw std::invalid_argument(fmt::format("{}: flagged for emulator drops ({}); not fitting a profile to it: re-measure",
                                            file, j.value("flag_reason", "no reason recorded")));
}

int fit_command() {
  auto& o = options();
  Measurements all;
  for (const auto& file : o.inputs) {
    if (fs::path(file).extension() != ".xml") refuse_flagged(file);
    auto m = fs::path(file).extension() == ".xml" ? measurements_of_profile(file) : read_measurements_json(file);
    if (!all.observations.empty() && std::abs(m.gap - all.gap) > 1e-9)
      throw std::invalid_argument(fmt::format("{}: its gap differs from the first file's", file));
    all.gap = m.gap;
    // Pooled files keep every distinct date, machine and method.
    const auto add = [](std::string& to, const std::string& value, const char* separator) {
      if (!value.empty() && to.find(value) == std::string::npos) to += (to.empty() ? "" : separator) + value;
    };
    add(all.date, m.date, ", ");
    add(all.machine, m.machine, ", ");
    add(all.method, m.method, " + ");
    all.observations.insert(all.observations.end(), m.observations.begin(), m.observations.end());
  }
  const ProfileText text{o.name, o.description.empty() ? fmt::format("fitted by dmlsim calibrate fit on {}", all.date) : o.description,
                         fmt::format("Network profile written by dmlsim calibrate fit from {} measurement file(s).",
                                     o.inputs.size())};
  const auto simulated = fit_and_write(all, text, o.out);
  print_table(all, simulated);
  return 0;
}

}  // namespace

CLI::App* add_calibrate_command(CLI::App& app) {
  auto& o = options();
  auto* cal = app.add_subcommand("calibrate", "Measure a real network and write a network profile that reproduces it");
  cal->require_subcommand(1);

  o.serve_cmd = cal->add_subcommand("serve", "Answer calibration probes (run on the far machine)");
  o.serve_cmd->add_option("--port", o.serve.port, "TCP port to listen on")->required()->check(CLI::Range(1, 65535));
  o.serve_cmd->add_option("--bind", o.serve.bind, "IPv4 address to listen on")->capture_default_str();
  o.serve_cmd->add_option("--timeout", o.serve.idle_timeout, "Give up after this many seconds without a probe")
      ->capture_default_str()->check(CLI::PositiveNumber);
  o.serve_cmd->add_flag("--once", o.serve.once, "Stop after the first probe");
  o.serve_cmd->add_option("--tcp-congestion", o.serve.congestion, "TCP congestion control, e.g. cubic (default: the system's)");

  o.probe_cmd = cal->add_subcommand("probe", "Measure the path to a `calibrate serve` and fit a profile");
  o.probe_cmd->add_option("peer", o.peer, "HOST:PORT of the serving machine")->required();
  o.probe_cmd->add_option("--out", o.out, "Write the fitted network profile here");
  o.probe_cmd->add_option("--name", o.name, "Profile name")->capture_default_str();
  o.probe_cmd->add_option("--json", o.json, "Also write the measurements (input of `calibrate fit`)");
  o.probe_cmd->add_option("--sizes", o.sizes, "Message sizes, comma-separated")->capture_default_str();
  o.probe_cmd->add_option("--rounds", o.rounds, "Measured rounds per size (median)")->capture_default_str()->check(CLI::Range(1, 1000));
  o.probe_cmd->add_option("--warmup", o.warmup, "Unmeasured rounds before each size's measured ones")
      ->capture_default_str()->check(CLI::Range(0, 1000));
  o.probe_cmd->add_option("--flows", o.flows, "Parallel connections sending at the same instant each round (contention)")
      ->capture_default_str()->check(CLI::Range(1, 64));
  o.probe_cmd->add_option("--gap", o.gap, "Server compute between receive and reply")->capture_default_str();
  o.probe_cmd->add_option("--timeout", o.timeout, "Seconds allowed to connect and for each exchange")
      ->capture_default_str()->check(CLI::PositiveNumber);
  o.probe_cmd->add_option("--max-time", o.max_time, "Seconds allowed for the whole probe")->capture_default_str()->check(CLI::PositiveNumber);
  o.probe_cmd->add_option("--bandwidth-bytes", o.bandwidth_bytes, "Size of the bandwidth-measuring transfer")->capture_default_str();
  o.probe_cmd->add_option("--tcp-congestion", o.congestion, "TCP congestion control, e.g. cubic (default: the system's)");
  o.probe_cmd->add_option("--assume-latency", o.assume_latency, "Fit against this one-way latency instead of the measured one");
  o.probe_cmd->add_option("--assume-bandwidth", o.assume_bandwidth, "Fit against this bandwidth instead of the measured one");

  o.simulate_cmd = cal->add_subcommand("simulate", "Simulated calibration rounds under a network profile: per size, "
                                       "fresh connections, --warmup then --rounds same-size rounds of --flows flows");
  o.simulate_cmd->add_option("--profile", o.profile, "Profile name or file")->required();
  o.simulate_cmd->add_option("--latency", o.latency, "One-way latency of the link, e.g. 100ms")->required();
  o.simulate_cmd->add_option("--bandwidth", o.bandwidth, "Bandwidth of the link, e.g. 100Mbps")->required();
  o.simulate_cmd->add_option("--sizes", o.sizes, "Message sizes, comma-separated")->capture_default_str();
  o.simulate_cmd->add_option("--gap", o.gap, "Server compute between receive and reply")->capture_default_str();
  o.simulate_cmd->add_option("--flows", o.flows, "Connections through one shared bottleneck, each from its own client")
      ->capture_default_str()->check(CLI::Range(1, 256));
  o.simulate_cmd->add_option("--warmup", o.sim_warmup, "Unmeasured rounds of each size before the measured ones")
      ->capture_default_str()->check(CLI::Range(0, 1000));
  o.simulate_cmd->add_option("--rounds", o.sim_rounds, "Measured rounds of each size (the median is reported)")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  o.simulate_cmd->add_option("--json", o.json, "Also write the times as JSON (per round: start, time, each flow's finish)");

  o.fit_cmd = cal->add_subcommand("fit", "Fit one profile to the measurements of one or more probes (--json files)");
  o.fit_cmd->add_option("measurements", o.inputs,
                        "Measurement files written by `calibrate probe --json`, or profiles (*.xml) to refit from the "
                        "measurements they carry")->required();
  o.fit_cmd->add_option("--out", o.out, "Write the fitted network profile here")->required();
  o.fit_cmd->add_option("--name", o.name, "Profile name")->capture_default_str();
  o.fit_cmd->add_option("--description", o.description, "One line shown in run outputs");
  return cal;
}

int run_calibrate_command() {
  auto& o = options();
  try {
    if (o.serve_cmd->parsed()) return serve_command();
    if (o.probe_cmd->parsed()) return probe_command();
    if (o.simulate_cmd->parsed()) return simulate_command();
    return fit_command();
  } catch (const std::invalid_argument& e) {
    std::cerr << "dmlsim calibrate: " << printable(e.what()) << '\n';
    return kExitBadInput;
  } catch (const ScenarioError& e) {
    std::cerr << "dmlsim calibrate: " << printable(e.what()) << '\n';
    return kExitBadInput;
  } catch (const LinkError& e) {
    std::cerr << "dmlsim calibrate: " << printable(e.what()) << '\n';
    return kExitNetwork;
  } catch (const std::exception& e) {
    std::cerr << "dmlsim calibrate: " << printable(e.what()) << '\n';
    return 1;
  }
}

}  // namespace dmlsim
