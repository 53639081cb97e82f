#include "scenario/scenario.hpp"

#include "algorithms/registry.hpp"
#include "scenario/xml_reader.hpp"
#include "util/atomic_file.hpp"
#include "util/units.hpp"
#include "util/utf8.hpp"
#include "util/quote.hpp"

#include <fmt/format.h>
#include <limits>
#include <map>
#include <cmath>
#include <sstream>
#include <tuple>

namespace dmlsim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
namespace fs = std::filesystem;

// The elements a scenario may contain, in the order the README documents them.
const std::vector<std::string> kElements = {"platform",  "network", "data",     "model", "workers", "server", "topology",
                                            "algorithm", "batch",   "training", "compression", "stop",  "report",  "output",
                                            "energy",    "background", "failures"};
// <server> is required by the topologies that have one (checked with the platform).
const std::vector<std::string> kRequired = {"platform", "data", "workers", "algorithm", "training"};

class Parser {
 public:
  Parser(const fs::path& file, const std::vector<Override>& overrides) : file_(file), overrides_(overrides) {}

  Scenario parse() {
    const std::string text = read_text();
    lines_ = std::make_unique<LineIndex>(text);
    check_utf8(text, file_.string(), *lines_);
    const auto result = doc_.load_buffer(text.data(), text.size());
    if (!result)
      throw ScenarioError(file_.string(), lines_->line_of(result.offset),
                          fmt::format("malformed XML: {}", result.description()));
    auto root = doc_.document_element();
    if (std::string(root.name()) != "scenario")
      throw ScenarioError(file_.string(), lines_->line_of(root.offset_debug()),
                          fmt::format("the root element must be <scenario>, not <{}>", root.name()));
    apply_overrides(root);
    check_children(root);

    Scenario s;
    s.file = file_;
    ElementReader top = reader(root);
    s.name = top.text("name", file_.stem().string());
    const int seed = top.integer("seed", 1, 0, std::numeric_limits<int>::max());
    s.seed = static_cast<std::uint64_t>(seed);
    top.finish();

    read_platform(root.child("platform"), s);
    read_network(root.child("network"), s);
    read_data(root.child("data"), s);
    read_model(root.child("model"), s);
    read_workers(root.child("workers"), s);
    read_server(root.child("server"), s);
    s.topology.line = line(root);  // without <topology>, errors point at <scenario>
    read_topology(root.child("topology"), s);
    read_algorithm(root.child("algorithm"), s);
    read_batch(root.child("batch"), s);
    read_training(root.child("training"), s);
    read_compression(root.child("compression"), s);
    read_stop(root.child("stop"), s);
    read_report(root.child("report"), s);
    read_output(root.child("output"), s);
    read_energy(root.child("energy"), s);
    read_background(root.child("background"), s);
    read_failures(root.child("failures"), s);
    return s;
  }

 private:
  std::string read_text() {
    try {
      return read_file(file_);
    } catch (const std::exception&) {
      throw ScenarioError(file_.string(), 0, "cannot read the scenario file");
    }
  }

  ElementReader reader(pugi::xml_node node) { return ElementReader(node, file_.string(), *lines_, overridden_); }
  fs::path base_dir() const { return file_.has_parent_path() ? file_.parent_path() : fs::path("."); }
  int line(pugi::xml_node node) const { return lines_->line_of(node.offset_debug()); }

  void apply_overrides(pugi::xml_node root) {
    for (const auto& o : overrides_) {
      if (o.element != "scenario" && std::find(kElements.begin(), kElements.end(), o.element) == kElements.end())
        throw ScenarioError(file_.string(), line(root),
                            fmt::format("--set {}: there is no element <{}> in a scenario", o.text, o.element));
      auto node = o.element == "scenario" ? root : root.child(o.element.c_str());
      if (!node) node = root.append_child(o.element.c_str());  // line of <scenario> in messages
      auto attribute = node.attribute(o.attribute.c_str());
      if (!attribute) attribute = node.append_attribute(o.attribute.c_str());
      attribute.set_value(o.value.c_str());
      overridden_.insert(o.element + "." + o.attribute);
    }
  }

  void check_children(pugi::xml_node root) {
    std::set<std::string> seen;
    for (auto child : root.children()) {
      if (child.type() != pugi::node_element) continue;
      const std::string name = child.name();
      if (std::find(kElements.begin(), kElements.end(), name) == kElements.end())
        throw ScenarioError(file_.string(), line(child),
                            fmt::format("unknown element <{}> (known: {})", name, fmt::join(kElements, ", ")));
      if (!seen.insert(name).second)
        throw ScenarioError(file_.string(), line(child), fmt::format("<{}> appears more than once", name));
    }
    for (const auto& name : kRequired)
      if (!seen.count(name))
        throw ScenarioError(file_.string(), line(root), fmt::format("missing required element <{}>", name));
  }

  void reject_children(pugi::xml_node node) { reject_child_elements(node, file_.string(), *lines_); }

  void read_platform(pugi::xml_node node, Scenario& s) {
    auto r = reader(node);
    s.platform.line = r.line();
    s.platform.file = r.existing_file("file", base_dir());
    r.finish();
    for (auto child : node.children()) {
      if (child.type() != pugi::node_element) continue;
      if (std::string(child.name()) != "link")
        throw ScenarioError(file_.string(), line(child),
                            fmt::format("unknown element <{}> inside <platform> (expected <link>)", child.name()));
      auto lr = reader(child);
      LinkOverride link;
      link.line = lr.line();
      link.pattern = lr.required_text("pattern");
      link.latency = lr.optional_time("latency");
      link.bandwidth = lr.optional_bandwidth("bandwidth");
      if (link.latency && *link.latency <= 0) lr.fail("latency", "a latency must be positive");
      if (!link.latency && !link.bandwidth) lr.fail("give 'latency', 'bandwidth' or both");
      lr.finish();
      s.platform.links.push_back(link);
    }
  }

  // Without <network>, or with neither 'model' nor 'profile': the TCP-calibrated profile.
  void use_default_network(Scenario& s, int line) {
    try {
      s.network.profile = load_network_profile(find_network_profile(kDefaultNetworkProfile, base_dir()));
    } catch (const std::invalid_argument& e) {
      throw ScenarioError(file_.string(), line,
                          fmt::format("the default network profile cannot be loaded ({}); name a network with <network "
                                      "model=\"CM02\"/> or <network profile=\"FILE\"/>",
                                      e.what()));
    }
    s.network.model = s.network.profile->model;
  }

  void read_network(pugi::xml_node node, Scenario& s) {
    if (!node) return use_default_network(s, 0);
    auto r = reader(node);
    s.network.line = r.line();
    // --set network.model=... on a scenario with a profile (or the reverse) replaces it.
    bool use_profile = r.has("profile");
    if (r.has("profile") && r.has("model")) {
      const bool model_set = overridden_.count("network.model") > 0, profile_set = overridden_.count("network.profile") > 0;
      if (model_set == profile_set) r.fail("give either 'model' or 'profile', not both");
      use_profile = profile_set;
      r.text(use_profile ? "model" : "profile", "");  // the replaced one
    }
    if (use_profile) {
      const auto name = r.required_text("profile");
      try {
        s.network.profile = load_network_profile(find_network_profile(name, base_dir()));
      } catch (const std::invalid_argument& e) {
        r.fail("profile", e.what());
      }
      s.network.model = s.network.profile->model;
    } else if (r.has("model")) {
      s.network.model = r.choice("model", "CM02", {"CM02", "LV08", "SMPI", "IB", "Constant", "ns-3"});
    } else {
      use_default_network(s, s.network.line);
    }
    r.finish();
    for (auto child : node.children()) {
      if (child.type() != pugi::node_element) continue;
      if (std::string(child.name()) != "config")
        throw ScenarioError(file_.string(), line(child),
                            fmt::format("unknown element <{}> inside <network> (expected <config>)", child.name()));
      auto cr = reader(child);
      const auto name = cr.required_text("name");
      if (name == "network/model") cr.fail("name", "set the model with <network model=\"...\">");
      s.network.config.emplace_back(name, cr.text("value", ""));
      if (!cr.has("value")) cr.fail("value", "is required");
      cr.finish();
    }
  }

  void read_data(pugi::xml_node node, Scenario& s) {
    auto r = reader(node);
    auto& d = s.data;
    d.line = r.line();
    const auto format = r.choice("format", "csv", {"csv", "idx", "libsvm"});
    d.format = format == "csv" ? DataFormat::Csv : format == "idx" ? DataFormat::Idx : DataFormat::Libsvm;
    const bool one_file = r.has("file");
    if (d.format == DataFormat::Idx && one_file) r.fail("file", "IDX data needs 'train', 'train-labels', 'test', 'test-labels'");
    if (one_file == (r.has("train") || r.has("test")))
      r.fail("give either 'file' (split with the seed) or both 'train' and 'test'");
    if (one_file) {
      d.file = r.existing_file("file", base_dir());
      d.test_fraction = r.number("test-fraction", 0.3, 0.0, 1.0);
      if (d.test_fraction <= 0.0 || d.test_fraction >= 1.0) r.fail("test-fraction", "must be strictly between 0 and 1");
    } else {
      d.train_file = r.existing_file("train", base_dir());
      d.test_file = r.existing_file("test", base_dir());
    }
    if (d.format == DataFormat::Idx) {
      d.train_labels = r.existing_file("train-labels", base_dir());
      d.test_labels = r.existing_file("test-labels", base_dir());
      d.scale = r.number("scale", 255.0, 1e-300, 1e300);
    }
    if (d.format == DataFormat::Csv) d.label = r.text("label", "last");
    if (d.format == DataFormat::Libsvm) d.features = r.integer("features", 0, 0, 1 << 30);
    d.standardize = r.boolean("standardize", false);
    d.train_rows = r.integer("train-rows", 0, 0, 1 << 30);
    d.test_rows = r.integer("test-rows", 0, 0, 1 << 30);
    d.float32 = r.choice("storage", "float64", {"float64", "float32"}) == "float32";
    r.finish();
    reject_children(node);
  }

  void read_model(pugi::xml_node node, Scenario& s) {
    if (!node) return;
    auto r = reader(node);
    auto& m = s.model;
    m.line = r.line();
    m.type = r.choice("type", "logistic", {"logistic", "softmax", "mlp"});
    if (m.type == "mlp") {
      std::stringstream list(r.required_text("hidden"));
      for (std::string item; std::getline(list, item, ',');) {
        char* end = nullptr;
        const long size = std::strtol(item.c_str(), &end, 10);
        if (end == item.c_str() || *end != '\0' || size < 1 || size > 1 << 20)
          r.fail("hidden", fmt::format("{} is not a layer size (comma-separated positive integers, e.g. 128,64)", quote_input(item)));
        m.hidden.push_back(size);
      }
    }
    const std::string default_init = m.type == "logistic" ? "uniform" : m.type == "softmax" ? "zeros" : "glorot";
    const auto init = r.choice("init", default_init, {"zeros", "constant", "uniform", "glorot"});
    m.init.rule = init == "zeros"      ? InitRule::Zeros
                  : init == "constant" ? InitRule::Constant
                  : init == "uniform"  ? InitRule::Uniform
                                       : InitRule::Glorot;
    if (m.init.rule == InitRule::Constant && !r.has("value")) r.fail("value", "is required with init=\"constant\"");
    m.init.value = r.number("value", 0.0, -1e12, 1e12);
    m.sim_parameters = r.optional_number("sim-parameters", 1, 1e13);
    m.sim_forward_flops = r.optional_number("sim-forward-flops", 0, 1e18);
    if (m.sim_parameters.has_value() != m.sim_forward_flops.has_value())
      r.fail(m.sim_parameters ? "sim-forward-flops" : "sim-parameters", "a model profile needs both 'sim-parameters' and 'sim-forward-flops'");
    r.finish();
    reject_children(node);
  }

  // "lognormal:SIGMA", or one factor (>= 1 is slower) per worker, comma-separated.
  static SlowdownSpec read_slowdown(ElementReader& r, int workers) {
    const std::string text = r.required_text("slowdown");
    const auto number = [&](const std::string& word) {
      std::size_t used = 0;
      double value = 0;
      try {
        value = std::stod(word, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (word.empty() || used != word.size() || !std::isfinite(value))
        r.fail("slowdown", fmt::format("{} is not a number (expected lognormal:SIGMA or one factor per worker, e.g. "
                                       "\"1,1,3,1\")", quote_input(word)));
      return value;
    };
    SlowdownSpec spec;
    if (text.rfind("lognormal:", 0) == 0) {
      spec.lognormal_sigma = number(text.substr(10));
      if (spec.lognormal_sigma < 0 || spec.lognormal_sigma > 10) r.fail("slowdown", "sigma must lie in [0, 10]");
      return spec;
    }
    std::stringstream list(text);
    for (std::string word; std::getline(list, word, ',');) {
      word.erase(0, word.find_first_not_of(" \t"));
      word.erase(word.find_last_not_of(" \t") + 1);
      spec.factors.push_back(number(word));
      if (!(spec.factors.back() > 0)) r.fail("slowdown", fmt::format("factor {} must be positive", word));
    }
    if (static_cast<int>(spec.factors.size()) != workers)
      r.fail("slowdown", fmt::format("lists {} factors for {} workers", spec.factors.size(), workers));
    return spec;
  }

  void read_workers(pugi::xml_node node, Scenario& s) {
    auto r = reader(node);
    auto& w = s.workers;
    w.line = r.line();
    const auto placement = r.choice("placement", r.has("hosts") ? "hosts" : r.has("pattern") ? "pattern" : "zones",
                                    {"hosts", "pattern", "zones"});
    w.placement = placement == "hosts" ? Placement::Hosts : placement == "pattern" ? Placement::Pattern : Placement::Zones;
    // Both lists are read whatever the placement, so a typo is caught; the unused one is noted.
    if (r.has("hosts")) {
      std::stringstream list(r.required_text("hosts"));
      for (std::string host; std::getline(list, host, ',');) {
        const auto first = host.find_first_not_of(" \t\n");
        const auto last = host.find_last_not_of(" \t\n");
        if (first == std::string::npos) r.fail("hosts", "contains an empty host name");
        w.hosts.push_back(host.substr(first, last - first + 1));
      }
    }
    if (r.has("pattern")) w.pattern = r.required_text("pattern");
    if (w.placement == Placement::Hosts && w.hosts.empty()) r.fail("hosts", "is required with placement=\"hosts\"");
    if (w.placement == Placement::Pattern && w.pattern.empty())
      r.fail("pattern", "is required with placement=\"pattern\"");
    for (const char* unused : {"hosts", "pattern"})
      if (r.has(unused) && placement != unused)
        s.notes.push_back(fmt::format("{}:{}: note: <workers> attribute {} is ignored with placement=\"{}\"",
                                      file_.string(), r.line(), quote_input(unused), placement));
    const int default_count = w.placement == Placement::Hosts ? static_cast<int>(w.hosts.size()) : 0;
    w.count = r.integer("count", default_count, 1, 1 << 20);
    if (w.count == 0) r.fail("count", "is required");
    if (w.placement == Placement::Hosts && w.count != static_cast<int>(w.hosts.size())) {
      // Blame what the command line changed: its value is the one that no longer fits the file's.
      if (r.overridden("hosts") && !r.overridden("count"))
        r.fail("hosts", fmt::format("lists {} hosts but 'count' is {}", w.hosts.size(), w.count));
      r.fail("count", fmt::format("is {} but 'hosts' lists {} hosts", w.count, w.hosts.size()));
    }
    const auto partition = r.choice("partition", "contiguous", {"contiguous", "shuffled", "shards", "dirichlet"});
    w.partition.scheme = partition == "contiguous" ? PartitionScheme::Contiguous
                         : partition == "shuffled" ? PartitionScheme::Shuffled
                         : partition == "shards"   ? PartitionScheme::Shards
                                                   : PartitionScheme::Dirichlet;
    w.partition.shards_per_worker = r.integer("shards-per-worker", 2, 1, 1 << 20);
    w.partition.dirichlet_alpha = r.number("dirichlet-alpha", 0.5, 0.0, 1e6);
    if (w.partition.dirichlet_alpha <= 0) r.fail("dirichlet-alpha", "must be positive");
    if (r.has("slowdown")) w.slowdown = read_slowdown(r, w.count);
    r.finish();
    reject_children(node);
  }

  struct Power {
    const char* name;
    double watts;
  };

  // Busy equal to idle is a power that does not depend on load; below idle it would be negative
  // work. The message names an attribute the user gave (the one from the command line first), not
  // a default they never wrote.
  static void check_power_order(const ElementReader& r, Power idle, Power busy) {
    if (!(busy.watts < idle.watts)) return;
    const auto shown = [&r](const Power& p) {
      return fmt::format("{} ({} W{})", p.name, p.watts, r.has(p.name) ? "" : ", the default");
    };
    const bool blame_idle = r.has(idle.name) && (!r.has(busy.name) || (r.overridden(idle.name) && !r.overridden(busy.name)));
    if (blame_idle) r.fail(idle.name, fmt::format("{} W is above {}", idle.watts, shown(busy)));
    r.fail(busy.name, fmt::format("{} W is below {}", busy.watts, shown(idle)));
  }

  void read_energy(pugi::xml_node node, Scenario& s) {
    if (!node) return;
    auto r = reader(node);
    auto& e = s.energy;
    e.line = r.line();
    e.enabled = true;
    const auto power = [&r](const char* name, double fallback) {
      if (!r.has(name)) return fallback;
      const auto text = r.required_text(name);
      try {
        const double watts = parse_power(text);
        if (watts < 0) r.fail(name, fmt::format("{} is negative", text));
        return watts;
      } catch (const std::invalid_argument& ex) {
        r.fail(name, ex.what());
      }
    };
    e.host_idle = power("host-idle", e.host_idle);
    e.host_busy = power("host-busy", e.host_busy);
    e.host_off = power("host-off", e.host_off);
    e.links = r.boolean("links", e.links);
    e.link_idle = power("link-idle", e.link_idle);
    e.link_busy = power("link-busy", e.link_busy);
    check_power_order(r, {"host-idle", e.host_idle}, {"host-busy", e.host_busy});
    check_power_order(r, {"link-idle", e.link_idle}, {"link-busy", e.link_busy});
    r.finish();
    reject_children(node);
  }

  void read_background(pugi::xml_node node, Scenario& s) {
    if (!node) return;
    auto top = reader(node);
    s.background.line = top.line();
    top.finish();
    for (auto child : node.children()) {
      if (child.type() != pugi::node_element) continue;
      auto r = reader(child);
      if (std::string(child.name()) != "flow") r.fail(fmt::format("unknown element <{}> inside <background> (expected <flow>)", child.name()));
      for (const char* name : {"rate", "on", "off"}) {
        const std::string text = child.attribute(name).value();
        if (!text.empty() && (std::isdigit(static_cast<unsigned char>(text.back())) || text.back() == '.'))
          r.fail(name, fmt::format("{} needs a unit (e.g. {})", quote_input(text), name[0] == 'r' ? "500Mbps" : "2s"));
      }
      BackgroundFlow flow;
      flow.line = r.line();
      flow.from = r.required_text("from");
      flow.to = r.required_text("to");
      if (flow.from == flow.to) r.fail("to", fmt::format("the flow starts and ends on host {}", flow.from));
      flow.rate = r.optional_bandwidth("rate");
      if (flow.rate && !(*flow.rate > 0)) r.fail("rate", "must be positive");
      flow.on = r.optional_time("on");
      flow.off = r.optional_time("off");
      if (flow.on.has_value() != flow.off.has_value()) r.fail(flow.on ? "off" : "on", "on and off go together");
      for (const auto* period : {&flow.on, &flow.off})
        if (*period && !(**period > 0)) r.fail(period == &flow.on ? "on" : "off", "must be positive");
      r.finish();
      s.background.flows.push_back(flow);
    }
    if (s.background.flows.empty()) top.fail("<background> needs at least one <flow>");
  }

  void read_failures(pugi::xml_node node, Scenario& s) {
    if (!node) return;
    auto top = reader(node);
    auto& f = s.failures;
    f.present = true;
    f.line = top.line();
    if (!top.has("timeout")) top.fail("timeout", "is required (how long the server waits for an upload, e.g. 30s)");
    f.timeout = *top.optional_time("timeout");
    if (!(f.timeout > 0)) top.fail("timeout", "must be positive");
    top.finish();
    for (auto child : node.children()) {
      if (child.type() != pugi::node_element) continue;
      auto r = reader(child);
      const std::string name = child.name();
      if (name == "random") {
        if (f.random) r.fail("<random> appears more than once in <failures>");
        RandomFailureSpec random;
        random.line = r.line();
        if (!r.has("mtbf")) r.fail("mtbf", "is required (mean time between failures, e.g. 2h)");
        random.mtbf = *r.optional_time("mtbf");
        if (!(random.mtbf > 0)) r.fail("mtbf", "must be positive");
        random.mttr = r.optional_time("mttr");
        if (random.mttr && !(*random.mttr > 0)) r.fail("mttr", "must be positive");
        r.finish();
        f.random = random;
      } else if (name == "host" || name == "link") {
        f.events.push_back(read_failure_event(r, name == "link", s));
      } else {
        r.fail(fmt::format("unknown element <{}> inside <failures> (expected <host>, <link> or <random>)", name));
      }
      reject_children(child);
    }
    if (f.events.empty() && !f.random) top.fail("<failures> needs at least one <host>, <link> or <random>");
  }

  static FailureSpec read_failure_event(ElementReader& r, bool link, const Scenario& s) {
    FailureSpec e;
    e.line = r.line();
    e.link = link;
    e.name = r.required_text("name");
    if (r.has("at") == r.has("round")) r.fail("give either 'at' (a time) or 'round' (a round number), not both");
    e.at = r.optional_time("at");
    if (r.has("round")) {
      e.round = r.integer("round", 1, 1, std::numeric_limits<int>::max());
      if (*e.round > s.training.rounds)
        r.fail("round", fmt::format("round {} is after the last round of training ({})", *e.round, s.training.rounds));
    }
    if (e.at && s.stop.max_time && *e.at >= *s.stop.max_time)
      r.fail("at", fmt::format("{} s is at or after the run's max-time ({} s)", *e.at, *s.stop.max_time));
    e.down_for = r.optional_time("for");
    if (e.down_for && !(*e.down_for > 0)) r.fail("for", "must be positive");
    r.finish();
    return e;
  }

  void read_server(pugi::xml_node node, Scenario& s) {
    if (!node) return;
    auto r = reader(node);
    s.server.line = r.line();
    s.server.host = r.required_text("host");
    r.finish();
    reject_children(node);
  }

  void read_topology(pugi::xml_node node, Scenario& s) {
    auto& t = s.topology;
    if (!node) return;
    auto r = reader(node);
    t.line = r.line();
    t.kind = r.text("kind", t.kind);
    t.arity = r.integer("arity", 2, 2, 1 << 20);
    t.binomial = r.choice("shape", "k-ary", {"k-ary", "binomial"}) == "binomial";
    t.across_ring = r.choice("across", "ring", {"ring", "star"}) == "ring";
    t.kind_given = r.has("kind");
    read_gossip_graph(r, s);
    r.finish();
    reject_children(node);
    const std::map<std::string, std::vector<std::string>> used = {
        {"tree", {"arity", "shape"}}, {"hierarchical", {"across"}}, {"gossip", {"graph", "file"}}};
    for (const auto& attribute : node.attributes()) {
      const std::string attr = attribute.name();
      const auto it = used.find(t.kind);
      if (attr != "kind" && (it == used.end() || std::find(it->second.begin(), it->second.end(), attr) == it->second.end()))
        s.notes.push_back(fmt::format("{}:{}: note: <topology> attribute {} is ignored by {}", file_.string(), t.line,
                                      quote_input(attr), t.kind));
    }
  }

  // The decentralized algorithms' graph: a built-in shape, or an edge list over the K workers that
  // must connect them all.
  void read_gossip_graph(ElementReader& r, Scenario& s) {
    auto& t = s.topology;
    t.graph = r.choice("graph", t.graph, gossip_graph_kinds());
    if (t.graph != "file") {
      if (r.has("file")) r.fail("file", "is only read with graph=\"file\"");
      return;
    }
    t.graph_file = r.existing_file("file", base_dir());
    std::string text;
    try {
      text = read_file(t.graph_file);
    } catch (const std::exception& e) {
      r.fail("file", e.what());
    }
    try {
      t.edges = parse_edge_list(text, s.workers.count);
    } catch (const EdgeListError& e) {
      throw ScenarioError(t.graph_file.string(), e.line, e.what());
    }
    const auto missing = unreachable_nodes(graph_from_edges(s.workers.count, t.edges));
    if (!missing.empty())
      r.fail("file", fmt::format("the graph in {} does not connect the {} workers: worker{} {} cannot reach worker 0",
                                 t.graph_file.string(), s.workers.count, missing.size() > 1 ? "s" : "",
                                 fmt::join(missing, ", ")));
  }

  // Attributes, types and ranges come from the algorithm registry. An attribute that another
  // algorithm declares is checked against that declaration and noted as ignored (so one base
  // scenario can serve a study over several algorithms, and its typos are still caught); an
  // attribute no algorithm declares is an error.
  void read_algorithm(pugi::xml_node node, Scenario& s) {
    auto r = reader(node);
    if (!r.has("name")) r.fail("name", "is required");
    const auto name = r.choice("name", "", algorithm_names());
    const AlgorithmInfo& algorithm = *find_algorithm(name);
    s.algorithm = AlgorithmParams(algorithm);
    if (algorithm.decentralized() && !s.topology.kind_given) s.topology.kind = "gossip";
    for (const auto& spec : algorithm.attributes)
      if (spec.required && !r.has(spec.name.c_str())) r.fail(spec.name.c_str(), "is required");
    for (const auto& attribute : node.attributes()) {
      const std::string attr = attribute.name();
      if (attr == "name") continue;
      const AttributeSpec* spec = algorithm.find_attribute(attr);
      const bool own = spec != nullptr;
      if (!own) spec = find_any_attribute(attr);
      if (!spec)
        r.fail(attr.c_str(), fmt::format("unknown attribute ({} takes: {})", name, attribute_names(algorithm)));
      AttributeValue value;
      try {
        value = parse_attribute(*spec, attribute.value());
      } catch (const std::invalid_argument& e) {
        r.fail(attr.c_str(), e.what());
      }
      if (own)
        s.algorithm.set(attr, std::move(value));
      else
        s.notes.push_back(fmt::format("{}:{}: note: <algorithm> attribute {} is ignored by {}", file_.string(),
                                      r.line(), quote_input(attr), name));
    }
    check_algorithm_fits(r, s);
    reject_children(node);
  }

  // What the algorithm needs of the rest of the scenario: a topology it can run on, hyper-parameters
  // that fit the worker count.
  static void check_algorithm_fits(ElementReader& r, const Scenario& s) {
    const AlgorithmInfo& algorithm = s.algorithm.algorithm();
    const auto& kinds = algorithm.topologies;
    if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), s.topology.kind) == kinds.end())
      r.fail("name", fmt::format("{} runs only on topology {}, not on <topology kind=\"{}\">", algorithm.name,
                                 fmt::join(kinds, ", "), s.topology.kind));
    if (s.topology.kind == "gossip" && !algorithm.decentralized())
      r.fail("name", fmt::format("<topology kind=\"gossip\"> runs only the decentralized algorithms ({}), not {}",
                                 fmt::join(decentralized_algorithm_names(), ", "), algorithm.name));
    if (algorithm.check_workers) {
      const auto problem = algorithm.check_workers(s.algorithm, s.workers.count);
      if (!problem.empty()) r.fail(problem);
    }
  }

  static std::vector<std::string> decentralized_algorithm_names() {
    std::vector<std::string> names;
    for (const auto* algorithm : registered_algorithms())
      if (algorithm->decentralized()) names.push_back(algorithm->name);
    return names;
  }

  static std::string attribute_names(const AlgorithmInfo& algorithm) {
    std::vector<std::string> names;
    for (const auto& spec : algorithm.attributes) names.push_back(spec.name);
    return fmt::format("{}", fmt::join(names, ", "));
  }

  void read_batch(pugi::xml_node node, Scenario& s) {
    if (!node) return;
    auto r = reader(node);
    auto& b = s.batch;
    const auto rule = r.choice("rule", "bernoulli", {"bernoulli", "fixed", "full"});
    b.rule = rule == "bernoulli" ? BatchRule::Bernoulli : rule == "fixed" ? BatchRule::Fixed : BatchRule::Full;
    b.fraction = r.number("fraction", 0.1, 0.0, 1.0);
    if (b.rule == BatchRule::Bernoulli && b.fraction <= 0.0) r.fail("fraction", "must be positive");
    if (b.rule == BatchRule::Fixed && !r.has("size")) r.fail("size", "is required with rule=\"fixed\"");
    b.size = r.integer("size", 32, 1, 1 << 30);
    b.same_batch_within_round = r.choice("resample", "step", {"step", "round"}) == "round";
    r.finish();
    reject_children(node);
  }

  void read_training(pugi::xml_node node, Scenario& s) {
    auto r = reader(node);
    auto& t = s.training;
    t.line = r.line();
    if (!r.has("rounds")) r.fail("rounds", "is required");
    t.rounds = r.integer("rounds", 1, 1, 1 << 30);
    t.bytes_per_param = r.integer("bytes-per-param", 8, 1, 8);
    if (t.bytes_per_param != 4 && t.bytes_per_param != 8) r.fail("bytes-per-param", "must be 4 or 8");
    t.header_bytes = r.integer("header-bytes", 64, 0, 1 << 20);
    t.eval_every = r.integer("eval-every", 1, 1, 1 << 30);
    t.charge_eval = r.boolean("charge-eval", false);
    t.eval_rows = r.integer("eval-rows", 0, 0, 1 << 30);
    t.train_loss_rows = r.integer("train-loss-rows", 0, 0, 1 << 30);
    r.finish();
    reject_children(node);
  }

  void read_stop(pugi::xml_node node, Scenario& s) {
    if (!node) return;
    auto r = reader(node);
    s.stop.line = r.line();
    s.stop.target_accuracy = r.optional_number("target-accuracy", 0.0, 1.0);
    s.stop.max_time = r.optional_time("max-time");
    if (s.stop.max_time && *s.stop.max_time <= 0) r.fail("max-time", "must be positive");
    r.finish();
    reject_children(node);
  }

  void read_report(pugi::xml_node node, Scenario& s) {
    if (!node) return;
    auto r = reader(node);
    s.report.line = r.line();
    std::stringstream list(r.text("targets", ""));
    for (std::string item; list >> item;) {
      for (auto& c : item)
        if (c == ',') c = ' ';
      std::stringstream parts(item);
      for (std::string part; parts >> part;) {
        char* end = nullptr;
        const double value = std::strtod(part.c_str(), &end);
        if (end != part.c_str() + part.size() || !(value > 0.0 && value <= 1.0))
          r.fail("targets", fmt::format("{} is not an accuracy in (0, 1]", quote_input(part)));
        s.report.targets.push_back(value);
      }
    }
    s.report.ewma_alpha = r.number("ewma-alpha", 0.9, 0.0, 1.0);
    if (s.report.ewma_alpha >= 1.0) r.fail("ewma-alpha", "must be below 1");
    s.report.eval_every_time = r.optional_time("eval-every-time");
    if (s.report.eval_every_time && *s.report.eval_every_time <= 0) r.fail("eval-every-time", "must be positive");
    r.finish();
    reject_children(node);
  }

  // k is checked against the model's parameter count once the data is loaded (build_experiment).
  void read_compression(pugi::xml_node node, Scenario& s) {
    if (!node) return;
    auto r = reader(node);
    auto& c = s.compression;
    c.present = true;
    c.line = r.line();
    c.spec.format = value_format(r.choice("format", "fp64", {"fp64", "fp32", "fp16", "bf16", "int8", "fp4"}));
    c.spec.sparsify = sparsifier(r.choice("sparsify", "none", {"none", "top-k", "random-k"}));
    if (c.spec.sparsify != Sparsifier::None && !r.has("k")) r.fail("k", "is required with sparsify=\"top-k\" or \"random-k\"");
    // Accepted without sparsify, with a note, so one base scenario can serve a sweep over sparsifiers.
    if (c.spec.sparsify == Sparsifier::None && r.has("k"))
      s.notes.push_back(fmt::format("{}:{}: note: <compression> attribute 'k' is ignored without sparsify", file_.string(),
                                    r.line()));
    c.spec.k = static_cast<std::uint64_t>(r.integer("k", 1, 1, std::numeric_limits<int>::max()));
    r.finish();
    reject_children(node);
  }

  void read_output(pugi::xml_node node, Scenario& s) {
    s.output_dir = fs::path("results") / s.name;
    if (!node) return;
    auto r = reader(node);
    s.output_dir = r.text("dir", s.output_dir.string());
    if (s.output_dir.empty()) r.fail("dir", "must not be empty");
    r.finish();
    reject_children(node);
  }

  fs::path file_;
  const std::vector<Override>& overrides_;
  pugi::xml_document doc_;
  std::unique_ptr<LineIndex> lines_;
  std::set<std::string> overridden_;
};

}  // namespace

Override parse_override(const std::string& text) {
  const auto eq = text.find('=');
  const auto dot = text.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq || dot == 0 || dot + 1 == eq)
    throw std::invalid_argument(
        fmt::format("--set {}: expected ELEMENT.ATTRIBUTE=VALUE, e.g. algorithm.local-steps=10", text));
  if (const auto bad = first_invalid_utf8(text))
    throw std::invalid_argument(fmt::format("--set {}: byte {:#04x} is not UTF-8", text, static_cast<unsigned char>(text[*bad])));
  return {text.substr(0, dot), text.substr(dot + 1, eq - dot - 1), text.substr(eq + 1), text};
}

LinkOverride parse_link_option(const std::string& text) {
  const auto usage = fmt::format("--link {}: expected PATTERN:latency=TIME,bandwidth=RATE, e.g. 'wan-*:latency=50ms'", text);
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) throw std::invalid_argument(usage);
  LinkOverride link;
  link.pattern = text.substr(0, colon);
  link.command_line = text;
  std::stringstream items(text.substr(colon + 1));
  for (std::string item; std::getline(items, item, ',');) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) throw std::invalid_argument(usage);
    const auto key = item.substr(0, eq);
    const auto value = item.substr(eq + 1);
    try {
      if (key == "latency") link.latency = parse_time(value);
      else if (key == "bandwidth") link.bandwidth = parse_bandwidth(value);
      else throw std::invalid_argument(fmt::format("unknown property {}", quote_input(key)));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("--link {}: {}", text, e.what()));
    }
  }
  if (!link.latency && !link.bandwidth) throw std::invalid_argument(usage);
  if (link.latency && *link.latency <= 0)
    throw std::invalid_argument(fmt::format("--link {}: latency must be positive", text));
  if (link.bandwidth && *link.bandwidth <= 0)
    throw std::invalid_argument(fmt::format("--link {}: bandwidth must be positive", text));
  return link;
}

Scenario load_scenario(const fs::path& file, const std::vector<Override>& overrides) {
  return Parser(file, overrides).parse();
}

std::vector<std::pair<std::string, AttributeValue>> describe_algorithm(const AlgorithmParams& params) {
  std::vector<std::pair<std::string, AttributeValue>> out = {{"name", params.name()}};
  out.insert(out.end(), params.values().begin(), params.values().end());
  if (const auto& derived = params.algorithm().derived) {
    const auto extra = derived(params);
    out.insert(out.end(), extra.begin(), extra.end());
  }
  return out;
}

}  // namespace dmlsim
