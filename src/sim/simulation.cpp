#include "sim/simulation.hpp"

#include "algorithms/registry.hpp"
#include "algorithms/algorithm.hpp"
#include "algorithms/decentralized.hpp"
#include "scenario/xml_reader.hpp"
#include "sim/bare_roles.hpp"
#include "sim/config_check.hpp"
#include "sim/placement.hpp"
#include "sim/topology/broadcast_senders.hpp"
#include "util/atomic_file.hpp"
#include "world/background.hpp"
#include "world/energy.hpp"
#include "world/failures.hpp"
#include "util/quote.hpp"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>
#include <fmt/format.h>
#include <pugixml.hpp>
#include <simgrid/s4u/Engine.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

// SimGrid 3.32 takes a unit-less rate, time or speed in a platform with a warning only (a
// latency of "0.04" is 0.04 s): as everywhere in dmlsim, one needs its unit (a bare 0 excepted).
void check_platform_units(const pugi::xml_document& doc, const LineIndex& lines, const std::string& file) {
  static const std::set<std::string> with_units = {"bandwidth", "latency", "speed", "bw", "lat", "bb_bw", "bb_lat",
                                                   "loopback_bw", "loopback_lat", "bw_in", "bw_out", "limiter_link",
                                                   "read_bw", "write_bw"};
  for (const auto& node : doc.select_nodes("//*")) {
    for (const auto& attribute : node.node().attributes()) {
      if (!with_units.count(attribute.name())) continue;
      std::istringstream values(attribute.value());  // a host's speed may list its power states
      for (std::string value; std::getline(values, value, ',');) {
        const bool unitless = !value.empty() && (std::isdigit(static_cast<unsigned char>(value.back())) || value.back() == '.');
        if (unitless && value != "0")
          throw ScenarioError(file, lines.line_of(node.node().offset_debug()),
                              fmt::format("<{}> attribute {}: {} has no unit (e.g. 10Gbps, 50ms, 1Gf)",
                                          node.node().name(), quote_input(attribute.name()), quote_input(value)));
      }
    }
  }
}

// The energy plugins' power properties, in watts: wattage_off one value, wattage_per_state a list of
// power states "IDLE:BUSY" or "IDLE:EPSILON:BUSY", wattage_range "IDLE:BUSY". SimGrid takes a
// negative power or a busy power below idle without complaint and reports negative joules.
std::string power_property_problem(const std::string& id, const std::string& value) {
  std::istringstream states(value);
  for (std::string state; std::getline(states, state, id == "wattage_per_state" ? ',' : '\n');) {
    std::vector<double> watts;
    std::istringstream fields(state);
    for (std::string field; std::getline(fields, field, ':');) {
      char* end = nullptr;
      const double number = std::strtod(field.c_str(), &end);
      if (field.empty() || *end != '\0' || !std::isfinite(number)) return fmt::format("{} is not a number of watts", quote_input(field));
      if (number < 0) return fmt::format("{} W is negative", field);
      watts.push_back(number);
    }
    const std::size_t wanted = id == "wattage_off" ? 1 : 2;
    if (watts.size() != wanted && !(id == "wattage_per_state" && watts.size() == 3))
      return fmt::format("{} must be {}", quote_input(state), id == "wattage_off" ? "one number of watts" : "IDLE:BUSY watts");
    if (watts.back() < watts.front())
      return fmt::format("{}: the busy power is below the idle power", quote_input(state));
    // IDLE:EPSILON:BUSY: SimGrid interpolates from EPSILON (one core barely loaded) up to BUSY.
    if (watts.size() == 3 && watts[1] < watts[0])
      return fmt::format("{}: the epsilon power is below the idle power", quote_input(state));
    if (watts.size() == 3 && watts[1] > watts[2])
      return fmt::format("{}: the epsilon power is above the busy power", quote_input(state));
  }
  return "";
}

void check_platform_powers(const pugi::xml_document& doc, const LineIndex& lines, const std::string& file) {
  for (const auto& found : doc.select_nodes("//prop")) {
    const auto node = found.node();
    const std::string id = node.attribute("id").value();
    if (id != "wattage_off" && id != "wattage_per_state" && id != "wattage_range") continue;
    if (const auto problem = power_property_problem(id, node.attribute("value").value()); !problem.empty())
      throw ScenarioError(file, lines.line_of(node.offset_debug()), fmt::format("<prop id=\"{}\">: {}", id, problem));
  }
}

// SimGrid reports platform syntax errors in its own way; check well-formedness first so the user
// gets file:line like everywhere else.
void check_platform_xml(const Scenario& s) {
  const auto& file = s.platform.file;
  std::string text;
  try {
    text = read_file(file);
  } catch (const std::exception& e) {
    throw ScenarioError(s.file.string(), s.platform.line, e.what());
  }
  pugi::xml_document doc;
  const auto result = doc.load_buffer(text.data(), text.size());
  if (!result)
    throw ScenarioError(file.string(), LineIndex(text).line_of(result.offset),
                        fmt::format("malformed platform XML: {}", result.description()));
  if (std::string(doc.document_element().name()) != "platform")
    throw ScenarioError(file.string(), 1, "not a SimGrid platform file (the root element must be <platform>)");
  check_platform_units(doc, LineIndex(text), file.string());
  check_platform_powers(doc, LineIndex(text), file.string());
}

// The actors a run creates, each with its own stack: one per worker, a helper beside each worker
// where one exchanges or answers for it (streaming ring all-reduce, pairwise gossip), the server's
// broadcast sender groups, the server and a monitor.
long actors_needed(const Scenario& scenario, const Experiment& experiment) {
  const long workers = scenario.workers.count;
  const auto& algorithm = experiment.algorithm.params.algorithm();
  const bool helper_per_worker =
      (static_cast<bool>(algorithm.streaming) && scenario.topology.kind == "ring-allreduce") ||
      (algorithm.decentralized() && algorithm.make_node(experiment.algorithm, 0, experiment.initial)->pairwise());
  return workers * (helper_per_worker ? 2 : 1) + static_cast<long>(BroadcastBoard::senders_for(static_cast<std::size_t>(workers))) + 2;
}

}  // namespace

Simulation::Simulation(const Scenario& scenario, const ConfigList& command_line_config)
    : scenario_(scenario), experiment_(build_experiment(scenario)) {
  const auto network = resolve_network(scenario.network, command_line_config);
  config_ = network.config;
  try {
    check_simgrid_config(config_);
    trace_ = std::make_unique<TraceFile>(config_);
  } catch (const std::exception& e) {
    throw ScenarioError(scenario.file.string(), scenario.network.line, e.what());
  }
  try {
    check_actor_limits(actors_needed(scenario, experiment_), config_);
  } catch (const std::exception& e) {
    throw ScenarioError(scenario.file.string(), scenario.workers.line, e.what());
  }
  // SimGrid announces every configuration change at INFO level; outputs state the model instead.
  // Context options are only read when the engine is created.
  std::vector<std::string> arguments = {"dmlsim", "--log=xbt_cfg.thres:warning"};
  for (const auto& argument : engine_arguments(config_)) arguments.push_back(argument);
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(arguments.size());
  engine_ = std::make_unique<sg4::Engine>(&argc, argv.data());
  try {
    apply_network_config(config_);
  } catch (const std::exception& e) {
    // SimGrid follows "Bad config key" with every key it knows: one line is the message.
    const std::string what = e.what();
    throw ScenarioError(scenario.file.string(), scenario.network.line, what.substr(0, what.find('\n')));
  }
  if (scenario.energy.enabled) init_energy_plugin(scenario.energy.links);
  load_platform();
  try {
    install_network_model(network);
  } catch (const std::exception& e) {
    throw ScenarioError(scenario.file.string(), scenario.network.line, e.what());
  }

  context_.network_description = describe_network(scenario.network, config_);
  context_.sim_config = config_;
  context_.server_host = placed_.server ? placed_.server->get_name() : "";
  for (auto* host : placed_.workers) context_.worker_hosts.push_back(host->get_name());
  context_.parameters = experiment_.model->dim();
  context_.model_description = experiment_.model->describe();
  context_.profiled = experiment_.profiled;
  context_.simulated_parameters = experiment_.simulated_parameters;
  context_.gradient_flops_per_sample = experiment_.gradient_flops_per_sample;
  context_.prediction_flops_per_sample = experiment_.prediction_flops_per_sample;
  context_.class_histogram_csv = class_histogram_csv(experiment_.train, experiment_.partitions);
  sim_.sizes = {static_cast<std::uint64_t>(experiment_.simulated_parameters),
                static_cast<std::uint64_t>(scenario.training.bytes_per_param),
                static_cast<std::uint64_t>(scenario.training.header_bytes)};
  if (scenario.compression.present)
    sim_.sizes.encoded = [spec = scenario.compression.spec, total = static_cast<std::uint64_t>(experiment_.model->dim())](
                             std::uint64_t params) { return spec.payload_bytes(params, total); };
  context_.message_bytes = sim_.sizes.whole();
}

Simulation::~Simulation() = default;

void Simulation::load_platform() {
  check_platform_xml(scenario_);
  const auto platform = scenario_.platform.file.string();
  try {
    check_platform_in_child(platform);
    engine_->load_platform(platform);
  } catch (const std::exception& e) {
    throw ScenarioError(platform, 0, e.what());
  }
  if (scenario_.energy.enabled) apply_power_defaults(scenario_.energy);
  context_.applied_link_overrides = apply_link_overrides(scenario_);
  try {
    check_platform_resources();
  } catch (const std::exception& e) {
    throw ScenarioError(platform, 0, fmt::format("{}{}", e.what(), scenario_.platform.links.empty() ? "" : " (after the link overrides)"));
  }
  const auto& kind = find_topology_kind(scenario_);
  placed_ = place_actors(scenario_);
  if (kind.needs_zones && !placed_.platform_has_zones) {
    std::vector<std::string> allowed;
    for (const auto& k : topology_kinds())
      if (!k.needs_zones) allowed.push_back(k.name);
    throw ScenarioError(scenario_.file.string(), scenario_.topology.line,
                        fmt::format("<topology> attribute 'kind': {} groups workers by zone, but platform {} has no zones "
                                    "(allowed on it: {})", kind.name, scenario_.platform.file.string(), fmt::join(allowed, ", ")));
  }
  const auto& algorithm = scenario_.algorithm.algorithm();
  topology_ = algorithm.asynchronous() ? make_async_parameter_server(scenario_.topology)
              : algorithm.streaming    ? make_streaming(scenario_.topology)
                                       : kind.make(scenario_.topology);
  if (scenario_.failures.present) plan_failures();  // first: it names what <failures> does not support
  try {
    topology_->check_routes(placed_, experiment_.algorithm);
  } catch (const std::invalid_argument& e) {
    throw ScenarioError(scenario_.file.string(), scenario_.topology.line, fmt::format("<topology>: {}", e.what()));
  }
  place_background(scenario_);  // checks the flows' hosts before the clock starts
}

// Failures run on the parameter-server star (synchronous and asynchronous algorithms) and on the
// server-less kinds whose table entry has a resilient variant (world/failures.hpp), gossip included.
void Simulation::plan_failures() {
  const auto& s = scenario_;
  const auto& algorithm = s.algorithm.algorithm();
  const auto& kind = find_topology_kind(s);
  const bool serverless = !kind.needs_server;
  if (!kind.make_resilient) {  // asynchronous algorithms run on parameter-server only (checked before)
    std::vector<std::string> supported;
    for (const auto& k : topology_kinds())
      if (k.make_resilient) supported.push_back(k.name);
    throw ScenarioError(s.file.string(), s.failures.line,
                        fmt::format("<failures>: failures are supported on topologies {} only, not on {}",
                                    fmt::join(supported, ", "), kind.name));
  }
  if (algorithm.streaming)
    throw ScenarioError(s.file.string(), s.failures.line,
                        fmt::format("<failures>: failures are not supported with the streaming algorithm {} "
                                    "(its fragment exchange has no survivor path)", algorithm.name));
  std::vector<std::uint64_t> rows;
  for (const auto& partition : experiment_.partitions) rows.push_back(partition.size());
  // A server-less run has no server, even when the scenario names one: its host is no special case.
  failure_view_ = placed_;
  if (serverless) failure_view_.server = nullptr;
  failures_ = std::make_unique<FailurePlan>(s, failure_view_, rows);
  topology_ = kind.make_resilient(s.topology);
}

void Simulation::prepare_run(bool bare) {
  sim_.bare = bare;
  sim_.bare_round_flops = experiment_.expected_round_flops();
  sim_.experiment = &experiment_;
  sim_.server = bare ? make_bare_server(experiment_.initial) : make_server(experiment_.algorithm, experiment_.initial);
  sim_.monitor = std::make_unique<RunMonitor>(experiment_, monitor_rules(scenario_), sim_.record, !bare);
  sim_.server_zone = placed_.server_zone;
  sim_.slowdown = Slowdown(scenario_.workers.slowdown, scenario_.workers.count, scenario_.seed);
  sim_.worker_zone = placed_.worker_zones;
  const auto workers = placed_.workers.size();
  sim_.uploads.resize(workers);
  sim_.record.workers.resize(workers);
  sim_.accounted_until.assign(workers, 0.0);
  for (std::size_t k = 0; k < workers; ++k) {
    sim_.uploads[k].worker = static_cast<int>(k);
    sim_.record.workers[k].worker = static_cast<int>(k);
    sim_.record.workers[k].host = placed_.workers[k]->get_name();
  }
}

const RunRecord& Simulation::run(bool bare) {
  prepare_run(bare);
  sim_.failures = failures_.get();
  topology_->create_actors(sim_, placed_);
  if (failures_) failures_->start();
  start_background(place_background(scenario_), scenario_.seed);
  std::shared_ptr<EnergyMeter> energy;
  if (scenario_.energy.enabled) {
    auto hosts = placed_.workers;
    if (placed_.server) hosts.push_back(placed_.server);
    energy = std::make_shared<EnergyMeter>(hosts);
    energy->follow_time();
    sim_.energy_probe = [energy] { return energy->joules_now(); };
  }

  const auto start = std::chrono::steady_clock::now();
  engine_->run();
  context_.wall_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!sim_.monitor->failure().empty()) throw SimulationFailure(sim_.monitor->failure());
  if (failures_ && !failures_->fatal().empty()) throw SimulationFailure(failures_->fatal());
  // A worker done before the run ended (its last upload arrived first) idled until the end; one
  // whose host is down at the end was down.
  for (std::size_t k = 0; k < sim_.record.workers.size(); ++k) {
    auto& w = sim_.record.workers[k];
    (placed_.workers[k]->is_on() ? w.wait_time : w.down_time) += std::max(0.0, sim_.record.sim_time - sim_.accounted_until[k]);
  }
  if (!sim_.finished && failures_)
    throw SimulationFailure(fmt::format("every worker went down and none came back: the run stopped at {} s before "
                                        "it finished", sg4::Engine::get_clock()));
  if (!sim_.finished)
    throw SimulationFailure(fmt::format("the simulation stopped at {} s before the run finished (deadlock)",
                                        sg4::Engine::get_clock()));
  if (energy) context_.energy = energy_json(scenario_, *energy, sim_.record, placed_);
  if (failures_) {
    context_.failures = failures_->summary();
    for (auto& row : sim_.record.rows) row.participants = failures_->participants(row.round);
  }
  return sim_.record;
}

}  // namespace dmlsim
