#include "study/study.hpp"

#include "algorithms/registry.hpp"
#include "scenario/scenario.hpp"
#include "scenario/xml_reader.hpp"
#include "util/atomic_file.hpp"
#include "util/units.hpp"
#include "util/quote.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <set>
#include <sstream>

namespace dmlsim::study {
namespace {

namespace fs = std::filesystem;

// Scenario attributes that name files: their study values are relative to the study file.
const std::set<std::string> kFileAttributes = {"platform.file", "data.file", "data.train", "data.test", "topology.file"};
// A run directory is named by its id; NAME_MAX is 255 bytes and the temporary sibling written
// before the final rename adds a suffix.
constexpr std::size_t kMaxRunIdLength = 200;

const std::set<std::string> kReservedNames = {"seed", "run_id", "run_dir"};

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

class Parser {
 public:
  explicit Parser(const fs::path& file) : file_(fs::absolute(file).lexically_normal()), shown_(file.string()) {}

  Study parse() {
    std::string text;
    try {
      text = read_file(file_);
    } catch (const std::exception&) {
      throw ScenarioError(shown_, 0, "cannot read the study file");
    }
    lines_ = std::make_unique<LineIndex>(text);
    check_utf8(text, shown_, *lines_);
    const auto result = doc_.load_buffer(text.data(), text.size());
    if (!result)
      throw ScenarioError(shown_, lines_->line_of(result.offset), fmt::format("malformed XML: {}", result.description()));
    auto root = doc_.document_element();
    if (std::string(root.name()) != "study")
      throw ScenarioError(shown_, line(root), fmt::format("the root element must be <study>, not <{}>", root.name()));

    Study s;
    s.file = file_;
    s.line = line(root);
    auto top = reader(root);
    s.name = top.text("name", file_.stem().string());
    if (s.name.empty()) top.fail("name", "must not be empty");
    s.output_dir = top.text("output", (fs::path("results") / "studies" / sanitize(s.name)).string());
    if (s.output_dir.empty()) top.fail("output", "must not be empty");
    if (top.has("scenario")) s.base_scenario = top.existing_file("scenario", base_dir());
    top.finish();

    bool seeds_seen = false;
    int group = 0;
    for (auto child : root.children()) {
      if (child.type() != pugi::node_element) continue;
      const std::string name = child.name();
      if (name == "axis" || name == "scenarios") {
        s.axes.push_back(read_axis(child, group++, false));
      } else if (name == "zip") {
        reader(child).finish();
        std::size_t members = 0;
        for (auto member : child.children()) {
          if (member.type() != pugi::node_element) continue;
          const std::string member_name = member.name();
          if (member_name != "axis" && member_name != "scenarios")
            throw ScenarioError(shown_, line(member),
                                fmt::format("unknown element <{}> inside <zip> (expected <axis> or <scenarios>)", member_name));
          s.axes.push_back(read_axis(member, group, true));
          const auto& first = s.axes[s.axes.size() - members - 1];
          const auto& last = s.axes.back();
          if (last.labels.size() != first.labels.size())
            throw ScenarioError(shown_, last.line,
                                fmt::format("axes inside <zip> must have the same number of values: {} has {}, {} has {}",
                                            quote_input(first.name), first.labels.size(), quote_input(last.name), last.labels.size()));
          ++members;
        }
        if (members == 0) throw ScenarioError(shown_, line(child), "<zip> holds no axis");
        ++group;
      } else if (name == "fixed") {
        s.fixed.push_back(read_fixed(child));
      } else if (name == "seeds") {
        if (seeds_seen) throw ScenarioError(shown_, line(child), "<seeds> appears more than once");
        seeds_seen = true;
        s.seeds = read_seeds(child);
      } else {
        throw ScenarioError(shown_, line(child),
                            fmt::format("unknown element <{}> (known: scenarios, axis, zip, fixed, seeds)", name));
      }
    }
    if (!seeds_seen) throw ScenarioError(shown_, s.line, "missing required element <seeds> (e.g. <seeds from=\"1\" to=\"5\"/>)");

    int scenario_axes = 0;
    std::set<std::string> names, sets, links;
    for (const auto& axis : s.axes) {
      if (!names.insert(axis.name).second)
        throw ScenarioError(shown_, axis.line, fmt::format("duplicate axis name {}", quote_input(axis.name)));
      if (axis.kind == AxisKind::Scenario && ++scenario_axes > 1)
        throw ScenarioError(shown_, axis.line, "only one <scenarios> axis is allowed");
      if (axis.kind == AxisKind::Set && !sets.insert(axis.attribute).second)
        throw ScenarioError(shown_, axis.line, fmt::format("{} is already an axis", quote_input(axis.attribute)));
      if (axis.kind == AxisKind::Link && !links.insert(axis.pattern + ":" + axis.property).second)
        throw ScenarioError(shown_, axis.line, fmt::format("{} {} is already an axis", quote_input(axis.pattern), axis.property));
    }
    for (const auto& f : s.fixed) {
      if (f.kind == AxisKind::Set && sets.count(f.attribute))
        throw ScenarioError(shown_, f.line, fmt::format("{} is both fixed and an axis", quote_input(f.attribute)));
      if (f.kind == AxisKind::Set && f.attribute == "scenario.seed")
        throw ScenarioError(shown_, f.line, "the seed is set by <seeds>");
    }
    if (scenario_axes == 1 && !s.base_scenario.empty())
      throw ScenarioError(shown_, s.line, "give either the 'scenario' attribute or a <scenarios> axis, not both");
    if (scenario_axes == 0 && s.base_scenario.empty())
      throw ScenarioError(shown_, s.line, "no base scenario: add scenario=\"FILE\" or a <scenarios> axis");
    return s;
  }

 private:
  ElementReader reader(pugi::xml_node node) { return ElementReader(node, shown_, *lines_, no_overrides_); }
  fs::path base_dir() const { return file_.parent_path(); }
  int line(pugi::xml_node node) const { return lines_->line_of(node.offset_debug()); }

  void check_name(ElementReader& r, const char* attribute, const std::string& name) {
    if (name.empty()) r.fail(attribute, "must not be empty");
    if (sanitize(name) != name) r.fail(attribute, fmt::format("{}: use only letters, digits, '.', '_' and '-'", quote_input(name)));
    if (kReservedNames.count(name)) r.fail(attribute, fmt::format("{} is reserved", quote_input(name)));
  }

  // A set target "element.attribute"; file-valued attributes are resolved against the study file.
  std::string resolve_set_value(const std::string& attribute, const std::string& value) const {
    if (!kFileAttributes.count(attribute)) return value;
    const fs::path path(value);
    return (path.is_absolute() ? path : (base_dir() / path).lexically_normal()).string();
  }

  void check_set_attribute(ElementReader& r, const std::string& attribute) {
    try {
      parse_override(attribute + "=x");
    } catch (const std::invalid_argument&) {
      r.fail("set", fmt::format("{}: expected ELEMENT.ATTRIBUTE, e.g. algorithm.eta", quote_input(attribute)));
    }
    if (attribute == "scenario.seed") r.fail("set", "the seed is set by <seeds>");
  }

  // Values of algorithm.X are checked against the algorithm registry where the study gives them.
  void check_algorithm_value(ElementReader& r, const char* attribute, const std::string& target, const std::string& value) {
    const std::string prefix = "algorithm.";
    if (target.compare(0, prefix.size(), prefix) != 0) return;
    try {
      check_algorithm_setting(target.substr(prefix.size()), value);
    } catch (const std::invalid_argument& e) {
      r.fail(attribute, fmt::format("{}: {}", target, e.what()));
    }
  }

  // Parses one link value; returns seconds or bytes per second.
  double link_value(ElementReader& r, const char* attribute, const std::string& property, const std::string& value) {
    try {
      const double v = property == "latency" ? parse_time(value) : parse_bandwidth(value);
      if (property == "latency" && v <= 0) r.fail(attribute, fmt::format("{}: a latency must be positive", quote_input(value)));
      if (property == "bandwidth" && v <= 0) r.fail(attribute, fmt::format("{}: a bandwidth must be positive", quote_input(value)));
      return v;
    } catch (const std::invalid_argument& e) {
      r.fail(attribute, e.what());
    }
  }

  Axis read_axis(pugi::xml_node node, int group, bool in_zip) {
    Axis axis;
    axis.group = group;
    axis.line = line(node);
    auto r = reader(node);
    if (std::string(node.name()) == "scenarios") {
      axis.kind = AxisKind::Scenario;
      axis.name = r.text("axis", "scenario");
      check_name(r, "axis", axis.name);
      r.finish();
      for (auto child : node.children()) {
        if (child.type() != pugi::node_element) continue;
        if (std::string(child.name()) != "scenario")
          throw ScenarioError(shown_, line(child),
                              fmt::format("unknown element <{}> inside <scenarios> (expected <scenario>)", child.name()));
        auto cr = reader(child);
        const auto file = cr.existing_file("file", base_dir());
        const std::string label = cr.text("label", file.stem().string());
        if (label.empty()) cr.fail("label", "must not be empty");
        cr.finish();
        if (!in_zip && std::find(axis.labels.begin(), axis.labels.end(), label) != axis.labels.end())
          cr.fail("label", fmt::format("duplicate label {}", quote_input(label)));
        axis.labels.push_back(label);
        axis.values.push_back(file.string());
      }
      if (axis.labels.empty()) r.fail("<scenarios> holds no <scenario>");
      return axis;
    }
    axis.name = r.required_text("name");
    check_name(r, "name", axis.name);
    const bool has_set = r.has("set"), has_link = r.has("link");
    if (has_set == has_link) r.fail("give exactly one of 'set' (a scenario attribute) or 'link' (a link pattern)");
    const auto values = split_words(r.required_text("values"));
    if (values.empty()) r.fail("values", "lists no value");
    // Optional names for the values in ids, tables and figures (e.g. "lan wan" for two file paths).
    axis.labels = values;
    if (r.has("labels")) {
      axis.labels = split_words(r.text("labels", ""));
      if (axis.labels.size() != values.size())
        r.fail("labels", fmt::format("gives {} labels for {} values", axis.labels.size(), values.size()));
    }
    // Inside a <zip>, values may repeat (the tuples must differ, which expand() checks).
    for (std::size_t i = 0; i < axis.labels.size() && !in_zip; ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (axis.labels[i] == axis.labels[j]) r.fail("values", fmt::format("duplicate value {}", quote_input(axis.labels[i])));
    std::vector<double> numbers;
    if (has_set) {
      axis.kind = AxisKind::Set;
      axis.attribute = r.required_text("set");
      check_set_attribute(r, axis.attribute);
      bool numeric = true;
      for (const auto& value : values) {
        check_algorithm_value(r, "values", axis.attribute, value);
        axis.values.push_back(resolve_set_value(axis.attribute, value));
        try {
          numbers.push_back(parse_number(value));
        } catch (const std::invalid_argument&) {
          numeric = false;
        }
      }
      if (numeric) axis.numeric = numbers;
    } else {
      axis.kind = AxisKind::Link;
      axis.pattern = r.required_text("link");
      axis.property = r.choice("property", "", {"latency", "bandwidth"});
      for (const auto& value : values) {
        numbers.push_back(link_value(r, "values", axis.property, value));
        axis.values.push_back(value);
      }
      axis.numeric = numbers;
    }
    r.finish();
    for (auto child : node.children())
      if (child.type() == pugi::node_element)
        throw ScenarioError(shown_, line(child), fmt::format("unknown element <{}> inside <axis>", child.name()));
    return axis;
  }

  Fixed read_fixed(pugi::xml_node node) {
    Fixed f;
    f.line = line(node);
    auto r = reader(node);
    const bool has_set = r.has("set"), has_link = r.has("link");
    if (has_set == has_link) r.fail("give exactly one of 'set' (a scenario attribute) or 'link' (a link pattern)");
    const std::string value = r.required_text("value");
    if (has_set) {
      f.kind = AxisKind::Set;
      f.attribute = r.required_text("set");
      check_set_attribute(r, f.attribute);
      check_algorithm_value(r, "value", f.attribute, value);
      f.value = resolve_set_value(f.attribute, value);
    } else {
      f.kind = AxisKind::Link;
      f.pattern = r.required_text("link");
      f.property = r.choice("property", "", {"latency", "bandwidth"});
      link_value(r, "value", f.property, value);
      f.value = value;
    }
    r.finish();
    return f;
  }

  std::vector<std::uint64_t> read_seeds(pugi::xml_node node) {
    auto r = reader(node);
    std::vector<std::uint64_t> seeds;
    const int max = std::numeric_limits<int>::max();
    if (r.has("values")) {
      if (r.has("from") || r.has("to")) r.fail("give either 'values' or 'from' and 'to'");
      for (const auto& word : split_words(r.required_text("values"))) {
        long long seed = 0;
        try {
          seed = parse_integer(word);
        } catch (const std::invalid_argument& e) {
          r.fail("values", e.what());
        }
        if (seed > max) r.fail("values", fmt::format("{} is out of range [0, {}]", word, max));
        if (std::find(seeds.begin(), seeds.end(), static_cast<std::uint64_t>(seed)) != seeds.end())
          r.fail("values", fmt::format("duplicate seed {}", word));
        seeds.push_back(static_cast<std::uint64_t>(seed));
      }
      if (seeds.empty()) r.fail("values", "lists no seed");
    } else {
      if (!r.has("from") || !r.has("to")) r.fail("give 'values' or both 'from' and 'to'");
      const int from = r.integer("from", 1, 0, max);
      const int to = r.integer("to", 1, 0, max);
      if (to < from) r.fail("to", fmt::format("{} is below from={}", to, from));
      if (to - from >= 100000) r.fail("to", "more than 100000 seeds");
      for (int seed = from; seed <= to; ++seed) seeds.push_back(static_cast<std::uint64_t>(seed));
    }
    r.finish();
    return seeds;
  }

  fs::path file_;
  std::string shown_;  // the path as given, for messages
  pugi::xml_document doc_;
  std::unique_ptr<LineIndex> lines_;
  const std::set<std::string> no_overrides_;
};

std::string link_option(const std::string& pattern, const std::string& property, const std::string& value) {
  return pattern + ":" + property + "=" + value;
}

}  // namespace

std::vector<std::string> Run::run_args() const {
  std::vector<std::string> args = {scenario.string()};
  for (const auto& set : sets) args.insert(args.end(), {"--set", set});
  for (const auto& link : links) args.insert(args.end(), {"--link", link});
  args.insert(args.end(), {"--set", fmt::format("scenario.seed={}", seed)});
  if (!identity.empty()) args.insert(args.end(), {"--identity", identity});
  return args;
}

namespace {

// FNV-1a, 64 bits: a content fingerprint (not a defence against forgery).
std::uint64_t fnv1a(const std::string& text, std::uint64_t hash = 0xcbf29ce484222325ULL) {
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

// Each input file is hashed once per process (data files are shared by every run of a study).
std::uint64_t file_fingerprint(const fs::path& file) {
  static std::map<std::string, std::uint64_t> cache;
  const auto key = fs::absolute(file).lexically_normal().string();
  const auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  return cache[key] = fnv1a(read_file(file));
}

std::vector<Override> overrides_of(const Run& run) {
  std::vector<Override> overrides;
  for (const auto& set : run.sets) overrides.push_back(parse_override(set));
  overrides.push_back(parse_override(fmt::format("scenario.seed={}", run.seed)));
  return overrides;
}

}  // namespace

std::string run_identity(const Run& run) {
  const auto s = load_scenario(run.scenario, overrides_of(run));
  std::vector<fs::path> files = {run.scenario, s.platform.file};
  for (const auto* file : {&s.data.file, &s.data.train_file, &s.data.test_file, &s.data.train_labels, &s.data.test_labels,
                           &s.topology.graph_file})
    if (!file->empty()) files.push_back(*file);
  if (s.network.profile) files.push_back(s.network.profile->file);
  std::string material;
  for (const auto& file : files) material += fmt::format("{}\n{:016x}\n", file.string(), file_fingerprint(file));
  for (const auto& set : run.sets) material += "set " + set + "\n";
  for (const auto& link : run.links) material += "link " + link + "\n";
  material += fmt::format("seed {}\n", run.seed);
  return fmt::format("{:016x}", fnv1a(material));
}

std::string sanitize(const std::string& text) {
  std::string out = text;
  for (auto& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) c = '-';
  }
  return out;
}

Study load_study(const fs::path& file) { return Parser(file).parse(); }

std::vector<Run> expand(const Study& study) {
  // Dimensions: one per group (a lone axis or a zip), in the order their first axis appears.
  std::vector<int> groups;
  std::map<int, std::size_t> group_size;
  for (const auto& axis : study.axes)
    if (group_size.emplace(axis.group, axis.labels.size()).second) groups.push_back(axis.group);

  std::vector<Run> runs;
  std::vector<std::size_t> index(groups.size(), 0);
  std::set<std::string> ids;
  while (true) {
    std::map<int, std::size_t> position;
    for (std::size_t g = 0; g < groups.size(); ++g) position[groups[g]] = index[g];
    for (const auto seed : study.seeds) {
      Run run;
      run.seed = seed;
      run.scenario = study.base_scenario;
      for (const auto& f : study.fixed) {
        if (f.kind == AxisKind::Set) run.sets.push_back(f.attribute + "=" + f.value);
        else run.links.push_back(link_option(f.pattern, f.property, f.value));
      }
      std::string id;
      for (const auto& axis : study.axes) {
        const auto i = position[axis.group];
        run.labels.push_back(axis.labels[i]);
        switch (axis.kind) {
          case AxisKind::Scenario: run.scenario = axis.values[i]; break;
          case AxisKind::Set: run.sets.push_back(axis.attribute + "=" + axis.values[i]); break;
          case AxisKind::Link: run.links.push_back(link_option(axis.pattern, axis.property, axis.values[i])); break;
        }
        id += sanitize(axis.name) + "-" + sanitize(axis.labels[i]) + "_";
      }
      run.id = id + fmt::format("seed-{}", seed);
      if (run.id.size() > kMaxRunIdLength)
        throw ScenarioError(study.file.string(), study.line,
                            fmt::format("run id '{}…' has {} characters, more than the {} a run directory name may have "
                                        "(file names stop at 255 bytes, with room for temporary names): give the axes "
                                        "shorter labels (labels=\"…\")",
                                        run.id.substr(0, 40), run.id.size(), kMaxRunIdLength));
      if (!ids.insert(run.id).second)
        throw ScenarioError(study.file.string(), study.line,
                            fmt::format("two runs would share the id {}: make the axis values differ in "
                                        "letters, digits, '.', '_' or '-'", quote_input(run.id)));
      runs.push_back(std::move(run));
    }
    // Odometer: the last dimension advances fastest.
    std::size_t g = groups.size();
    while (g > 0) {
      --g;
      if (++index[g] < group_size[groups[g]]) break;
      index[g] = 0;
      if (g == 0) return runs;
    }
    if (groups.empty()) return runs;
  }
}

void check_runs(const Study& study, const std::vector<Run>& runs) {
  std::set<std::string> checked;
  for (const auto& run : runs) {
    // The seed cannot make a scenario invalid: check each other combination once.
    std::string key = run.scenario.string();
    for (const auto& set : run.sets) key += "\n" + set;
    if (!checked.insert(key).second) continue;
    try {
      load_scenario(run.scenario, overrides_of(run));
      for (const auto& link : run.links) parse_link_option(link);
    } catch (const std::exception& e) {
      throw ScenarioError(study.file.string(), study.line, fmt::format("run {}: {}", run.id, e.what()));
    }
  }
}

std::string study_json(const Study& study) {
  using Json = nlohmann::ordered_json;
  Json axes = Json::array();
  for (const auto& axis : study.axes) {
    Json a = {{"name", axis.name}};
    switch (axis.kind) {
      case AxisKind::Scenario:
        a["kind"] = "scenario";
        a["values"] = axis.labels;
        a["files"] = axis.values;
        break;
      case AxisKind::Set:
        a["kind"] = "set";
        a["attribute"] = axis.attribute;
        a["values"] = axis.labels;
        a["set_values"] = axis.values;
        a["numeric_values"] = axis.numeric ? Json(*axis.numeric) : Json(nullptr);
        break;
      case AxisKind::Link:
        a["kind"] = "link";
        a["pattern"] = axis.pattern;
        a["property"] = axis.property;
        a["values"] = axis.labels;
        a["numeric_values"] = axis.numeric ? Json(*axis.numeric) : Json(nullptr);
        break;
    }
    a["zip_group"] = axis.group;
    axes.push_back(a);
  }
  Json fixed = Json::array();
  for (const auto& f : study.fixed) {
    if (f.kind == AxisKind::Set) fixed.push_back({{"kind", "set"}, {"attribute", f.attribute}, {"value", f.value}});
    else fixed.push_back({{"kind", "link"}, {"pattern", f.pattern}, {"property", f.property}, {"value", f.value}});
  }
  Json j;
  j["name"] = study.name;
  j["study_file"] = study.file.string();
  if (!study.base_scenario.empty()) j["base_scenario"] = study.base_scenario.string();
  j["axes"] = axes;
  j["fixed"] = fixed;
  j["seeds"] = study.seeds;
  return j.dump(2) + "\n";
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

std::string manifest_csv(const Study& study, const std::vector<Run>& runs) {
  std::string out = "run_id";
  for (const auto& axis : study.axes) out += "," + csv_field(axis.name);
  out += ",seed,run_dir\n";
  for (const auto& run : runs) {
    out += csv_field(run.id);
    for (const auto& label : run.labels) out += "," + csv_field(label);
    out += fmt::format(",{},runs/{}\n", run.seed, csv_field(run.id));
  }
  return out;
}

}  // namespace dmlsim::study
