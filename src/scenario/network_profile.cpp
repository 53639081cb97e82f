#include "scenario/network_profile.hpp"

#include "scenario/scenario.hpp"
#include "scenario/xml_reader.hpp"
#include "util/atomic_file.hpp"
#include "util/units.hpp"
#include "util/quote.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fmt/format.h>
#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#ifndef DMLSIM_PROFILE_DIR
#define DMLSIM_PROFILE_DIR ""
#endif

namespace dmlsim {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kModels = {"CM02", "LV08", "SMPI", "IB", "Constant", "ns-3"};

fs::path executable_dir() {
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

bool looks_like_file(const std::string& text) {
  return text.find('/') != std::string::npos || (text.size() > 4 && text.substr(text.size() - 4) == ".xml");
}

// Reads one <config>, <description> or <measurements> child of <network-profile>.
class ProfileParser {
 public:
  explicit ProfileParser(const fs::path& file) : file_(file) {}

  NetworkProfile parse() {
    std::string text;
    try {
      text = read_file(file_);
    } catch (const std::exception&) {
      throw ScenarioError(file_.string(), 0, "cannot read the network profile");
    }
    lines_ = std::make_unique<LineIndex>(text);
    check_utf8(text, file_.string(), *lines_);
    const auto result = doc_.load_buffer(text.data(), text.size());
    if (!result)
      throw ScenarioError(file_.string(), lines_->line_of(result.offset),
                          fmt::format("malformed network profile XML: {}", result.description()));
    const auto root = doc_.document_element();
    if (std::string(root.name()) != "network-profile")
      throw ScenarioError(file_.string(), lines_->line_of(root.offset_debug()),
                          fmt::format("the root element must be <network-profile>, not <{}>", root.name()));
    NetworkProfile p;
    p.file = file_;
    auto r = reader(root);
    p.name = r.text("name", file_.stem().string());
    p.model = r.choice("model", "CM02", kModels);
    r.finish();
    for (auto child : root.children()) {
      if (child.type() != pugi::node_element) continue;
      const std::string name = child.name();
      if (name == "config") read_config(child, p);
      else if (name == "description") read_description(child, p);
      else if (name == "measurements") read_measurements(child, p);
      else if (name == "factors") read_factors(child, p);
      else if (name == "tcp") read_tcp(child, p);
      else
        throw ScenarioError(file_.string(), line(child),
                            fmt::format("unknown element <{}> inside <network-profile> (expected <description>, "
                                        "<config>, <factors>, <tcp> or <measurements>)",
                                        name));
    }
    check_factors(root, p);
    check_tcp(root, p);
    return p;
  }

 private:
  ElementReader reader(pugi::xml_node node) { return ElementReader(node, file_.string(), *lines_, no_overrides_); }
  int line(pugi::xml_node node) const { return lines_->line_of(node.offset_debug()); }

  void no_children(pugi::xml_node node) { reject_child_elements(node, file_.string(), *lines_); }

  void read_config(pugi::xml_node node, NetworkProfile& p) {
    auto r = reader(node);
    const auto name = r.required_text("name");
    if (name == "network/model") r.fail("name", "set the model with <network-profile model=\"...\">");
    if (!r.has("value")) r.fail("value", "is required");
    p.config.emplace_back(name, r.text("value", ""));
    r.finish();
    no_children(node);
  }

  // <factors latency="25ms" lat-factor="0:1;4031:1.3" bw-factor="0:0.9;4031:0.95"/>
  void read_factors(pugi::xml_node node, NetworkProfile& p) {
    auto r = reader(node);
    if (!r.has("latency")) r.fail("latency", "is required");
    FactorRow row;
    row.latency = *r.optional_time("latency");
    row.latency_factor = piecewise(r, "lat-factor");
    row.bandwidth_factor = piecewise(r, "bw-factor");
    for (double value : row.bandwidth_factor.value)
      if (!(value > 0)) r.fail("bw-factor", "bandwidth factors must be positive");
    r.finish();
    no_children(node);
    if (!p.factors.rows.empty() && row.latency <= p.factors.rows.back().latency)
      r.fail("latency", "rows must be given in ascending latency, each latency once");
    p.factors.rows.push_back(row);
  }

  // <tcp mss="1448B" initial-window="10" rto-min="200ms" rmem-max="6MiB" .../>: physical
  // parameters, each with its unit, each checked for physical sense.
  void read_tcp(pugi::xml_node node, NetworkProfile& p) {
    auto r = reader(node);
    if (p.tcp) r.fail("a profile has at most one <tcp>");
    tcp::TcpParams t;
    t.mss = bytes(r, "mss", t.mss);
    t.header = bytes(r, "header", t.header);
    t.initial_window = r.number("initial-window", t.initial_window, -1e9, 1e9);
    t.cubic_c = r.number("cubic-c", t.cubic_c, -1e9, 1e9);
    t.cubic_beta = r.number("cubic-beta", t.cubic_beta, -1e9, 1e9);
    t.rto_min = seconds(r, "rto-min", t.rto_min);
    t.rmem_max = bytes(r, "rmem-max", t.rmem_max);
    t.wmem_max = bytes(r, "wmem-max", t.wmem_max);
    t.rcv_buffer_share = r.number("rcv-buffer-share", t.rcv_buffer_share, -1e9, 1e9);
    t.slow_start_after_idle = r.choice("slow-start-after-idle", "on", {"on", "off"}) == "on";
    t.hystart = r.choice("hystart", "on", {"on", "off"}) == "on";
    t.queue_packets = r.number("queue", t.queue_packets, -1e9, 1e9);
    r.finish();
    no_children(node);
    if (const auto problem = tcp::check_params(t); !problem.empty()) r.fail(problem);
    p.tcp = t;
  }

  // A size with its unit: B, kB, MB, GB or KiB, MiB, GiB.
  static double bytes(ElementReader& r, const char* name, double fallback) {
    if (!r.has(name)) return fallback;
    const std::string text = r.text(name, "");
    static const std::vector<std::pair<std::string, double>> units = {
        {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1.0}};
    for (const auto& [unit, scale] : units) {
      if (text.size() <= unit.size() || text.compare(text.size() - unit.size(), unit.size(), unit) != 0) continue;
      try {
        return parse_number(text.substr(0, text.size() - unit.size())) * scale;
      } catch (const std::invalid_argument& e) {
        r.fail(name, e.what());
      }
    }
    r.fail(name, fmt::format("{} needs a size unit (B, kB, MB, GB, KiB, MiB, GiB)", quote_input(text)));
  }

  // A time with its unit (a bare number is refused here: profiles say what they mean). Negative
  // times are parsed, so that the physical check can say what is wrong with them.
  static double seconds(ElementReader& r, const char* name, double fallback) {
    if (!r.has(name)) return fallback;
    const std::string text = r.text(name, "");
    if (text.empty() || !std::isalpha(static_cast<unsigned char>(text.back())))
      r.fail(name, fmt::format("{} needs a time unit (e.g. 200ms)", quote_input(text)));
    const bool negative = text.front() == '-';
    try {
      const double value = parse_time(negative ? text.substr(1) : text);
      return negative ? -value : value;
    } catch (const std::invalid_argument& e) {
      r.fail(name, e.what());
    }
  }

  static PiecewiseFactor piecewise(ElementReader& r, const char* name) {
    if (!r.has(name)) r.fail(name, "is required");
    try {
      return parse_piecewise(r.text(name, ""));
    } catch (const std::invalid_argument& e) {
      r.fail(name, e.what());  // [[noreturn]]
    }
  }

  // The factors are installed as SimGrid callbacks, which CM02 supports and which replace (and may
  // not be mixed with) SimGrid's own factor options.
  void check_factors(pugi::xml_node root, const NetworkProfile& p) {
    if (p.factors.empty()) return;
    if (p.model != "CM02")
      throw ScenarioError(file_.string(), line(root),
                          fmt::format("<factors> need model=\"CM02\" (the profile says \"{}\")", p.model));
    for (const auto& [key, value] : p.config)
      if (key == "network/latency-factor" || key == "network/bandwidth-factor" || key.rfind("smpi/", 0) == 0)
        throw ScenarioError(file_.string(), line(root),
                            fmt::format("<config name=\"{}\"> cannot be combined with <factors>", key));
  }

  // The TCP model is installed as CM02 factor callbacks, like <factors>, which it replaces.
  void check_tcp(pugi::xml_node root, const NetworkProfile& p) {
    if (!p.tcp) return;
    if (p.model != "CM02")
      throw ScenarioError(file_.string(), line(root), fmt::format("<tcp> needs model=\"CM02\" (the profile says \"{}\")", p.model));
    if (!p.factors.empty()) throw ScenarioError(file_.string(), line(root), "<tcp> and <factors> cannot be combined");
    for (const auto& [key, value] : p.config)
      if (key == "network/latency-factor" || key == "network/bandwidth-factor" || key == "network/TCP-gamma")
        throw ScenarioError(file_.string(), line(root),
                            fmt::format("<config name=\"{}\"> cannot be combined with <tcp>, which models the window", key));
  }

  void read_description(pugi::xml_node node, NetworkProfile& p) {
    reader(node).finish();
    no_children(node);
    // One line in outputs: collapse the XML text's line breaks and indentation.
    std::istringstream words(node.text().get());
    std::string word;
    p.description.clear();
    while (words >> word) p.description += (p.description.empty() ? "" : " ") + word;
  }

  void read_measurements(pugi::xml_node node, NetworkProfile& p) {
    auto r = reader(node);
    p.measured_date = r.text("date", "");
    p.measured_machine = r.text("machine", "");
    p.measured_method = r.text("method", "");
    p.gap = r.optional_time("gap").value_or(p.gap);
    r.finish();
    for (auto child : node.children()) {
      if (child.type() != pugi::node_element) continue;
      if (std::string(child.name()) != "round")
        throw ScenarioError(file_.string(), line(child),
                            fmt::format("unknown element <{}> inside <measurements> (expected <round>)", child.name()));
      auto rr = reader(child);
      ProfileRound round;
      if (!rr.has("latency")) rr.fail("latency", "is required");
      if (!rr.has("bandwidth")) rr.fail("bandwidth", "is required");
      round.latency = *rr.optional_time("latency");
      round.bandwidth = *rr.optional_bandwidth("bandwidth");
      round.bytes = rr.number("bytes", 0, 1, 1e12);
      round.real = rr.number("real", 0, 0, 1e6);
      rr.optional_number("simulated", 0, 1e6);  // informative: what the fitted profile gives
      rr.finish();
      no_children(child);
      p.rounds.push_back(round);
    }
  }

  fs::path file_;
  pugi::xml_document doc_;
  std::unique_ptr<LineIndex> lines_;
  const std::set<std::string> no_overrides_;
};

}  // namespace

std::vector<fs::path> profile_search_dirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("DMLSIM_PROFILE_PATH")) {
    std::istringstream parts(env);
    std::string part;
    while (std::getline(parts, part, ':'))
      if (!part.empty()) dirs.emplace_back(part);
  }
  const auto exe = executable_dir();
  if (!exe.empty()) dirs.push_back((exe / ".." / "profiles").lexically_normal());
  if (*DMLSIM_PROFILE_DIR) dirs.emplace_back(DMLSIM_PROFILE_DIR);
  return dirs;
}

std::vector<std::string> known_network_profiles() {
  std::set<std::string> names;
  for (const auto& dir : profile_search_dirs()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".xml") names.insert(entry.path().stem().string());
  }
  return {names.begin(), names.end()};
}

fs::path find_network_profile(const std::string& name_or_file, const fs::path& base_dir) {
  std::error_code ec;
  if (looks_like_file(name_or_file)) {
    const fs::path relative = name_or_file;
    const auto path = relative.is_absolute() ? relative : (base_dir / relative).lexically_normal();
    if (!fs::is_regular_file(path, ec)) throw std::invalid_argument(fmt::format("file {} does not exist", quote_input(path.string())));
    return path;
  }
  for (const auto& dir : profile_search_dirs()) {
    const auto path = dir / (name_or_file + ".xml");
    if (fs::is_regular_file(path, ec)) return path;
  }
  const auto known = known_network_profiles();
  throw std::invalid_argument(fmt::format("unknown network profile {} (known: {}; or give a file path)", quote_input(name_or_file),
                                          known.empty() ? "none found" : fmt::format("{}", fmt::join(known, ", "))));
}

NetworkProfile load_network_profile(const fs::path& file) { return ProfileParser(file).parse(); }

}  // namespace dmlsim
