#include "study/table.hpp"

#include "study/study.hpp"
#include "util/atomic_file.hpp"
#include "util/units.hpp"
#include "util/quote.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace dmlsim::study {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

Json read_json(const fs::path& file) {
  try {
    return Json::parse(read_file(file));
  } catch (const Json::exception& e) {
    throw std::runtime_error(fmt::format("{}: malformed JSON: {}", file.string(), e.what()));
  }
}

double number_or(const Json& j, const char* key, double fallback) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

std::string network_of(const Json& summary) {
  if (!summary.contains("network")) return "unknown";
  const auto& n = summary["network"];
  std::string text = n.value("model", std::string("unknown"));
  std::vector<std::string> items;
  if (n.contains("config"))
    for (const auto& [key, value] : n["config"].items())
      if (key != "network/model") items.push_back(key + "=" + (value.is_string() ? value.get<std::string>() : value.dump()));
  if (!items.empty()) text += " (" + fmt::format("{}", fmt::join(items, ", ")) + ")";
  if (n.contains("profile") && n["profile"].is_object())
    text = fmt::format("profile {}: {}", n["profile"].value("name", std::string("?")), text);
  return text;
}

std::string first_and_last_line(const std::string& text) {
  const auto lines = split_lines(text);
  if (lines.empty()) return "failed";
  if (lines.size() == 1) return lines.front();
  return lines.front() + ": " + lines.back();
}

std::string target_name(double target) { return fmt::format("{:g}", target); }

std::string opt(const std::optional<double>& value) { return value ? fmt::format("{}", *value) : ""; }

// Bytes in one decimal unit per column, the unit of the column's largest value, so the header can
// carry it ("bytes to 0.95 (MB)").
struct ByteUnit {
  const char* name;
  double divisor;
};

ByteUnit byte_unit(double largest) {
  static const ByteUnit units[] = {{"B", 1}, {"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}};
  std::size_t unit = 0;
  while (unit + 1 < std::size(units) && largest >= units[unit + 1].divisor) ++unit;
  return units[unit];
}

std::string in_unit(double bytes, const ByteUnit& unit) { return fmt::format("{:.3g}", bytes / unit.divisor); }

// The trailing letters of a label: "ms" of "0.05ms".
std::string unit_suffix(const std::string& label) {
  const auto last_digit = label.find_last_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
  return last_digit == std::string::npos ? label : label.substr(last_digit + 1);
}

// Every label read by `parse`, or nothing if one does not read.
template <typename Parse>
std::optional<std::vector<double>> read_all(const std::vector<std::string>& labels, Parse parse) {
  std::vector<double> values;
  for (const auto& label : labels) {
    try {
      values.push_back(parse(label));
    } catch (const std::invalid_argument&) {
      return std::nullopt;
    }
  }
  return values;
}

std::string tex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '_': case '%': case '&': case '#': case '$': case '{': case '}': out += '\\'; out += c; break;
      case '~': out += "\\textasciitilde{}"; break;
      case '^': out += "\\textasciicircum{}"; break;
      case '\\': out += "\\textbackslash{}"; break;
      default: out += c;
    }
  }
  return out;
}

std::string caption(const Table& t) {
  std::string curve = t.ewma_alpha ? fmt::format("the EWMA-smoothed test-accuracy curve (alpha {:g})", *t.ewma_alpha)
                                   : "the raw test-accuracy curve";
  std::string text = fmt::format(
      "{}: time to accuracy = simulated time of the first evaluation at or above the target (DAWNBench) on {}; "
      "median (min-max) over the seeds that reached it; 'reached' k/n: k of the n finished or failed runs reached it",
      t.study, curve);
  if (!t.baseline.empty()) text += fmt::format("; speedup = median time of the {} row / median time of the row", t.baseline);
  text += fmt::format("; final accuracy mean ± sample std; network: {}.", fmt::join(t.networks, "; "));
  return text;
}

struct Cell {
  std::string md, tex;
};

// A --by axis's header and cells: a numeric axis carries its unit in the header, numbers in the cells.
std::string axis_header(const Table& t, std::size_t k, bool csv) {
  const auto& unit = t.by_scale[k].unit;
  if (unit.empty()) return t.by[k];
  return csv ? t.by[k] + "_" + unit : fmt::format("{} ({})", t.by[k], unit);
}

std::string axis_cell(const Table& t, std::size_t k, const std::string& label, bool csv) {
  const auto& scale = t.by_scale[k];
  const auto& labels = t.by_values[k];
  const auto it = std::find(labels.begin(), labels.end(), label);
  if (!scale.numeric || it == labels.end()) return label;
  const auto index = static_cast<std::size_t>(it - labels.begin());
  return csv ? fmt::format("{}", scale.values[index]) : scale.shown[index];
}

// The byte unit of each target's column: that of its largest median (`wan`: the inter-zone bytes).
std::vector<ByteUnit> byte_units(const Table& t, bool wan) {
  std::vector<ByteUnit> units;
  for (std::size_t target = 0; target < t.targets.size(); ++target) {
    double largest = 0;
    for (const auto& row : t.rows) {
      const auto& bytes = wan ? row.targets[target].median_wan_bytes : row.targets[target].median_bytes;
      if (bytes) largest = std::max(largest, *bytes);
    }
    units.push_back(byte_unit(largest));
  }
  return units;
}

// In %: "87.3 ± 1.2" (md) or "87.3 $\pm$ 1.2" (tex); one run: no spread.
Cell utilisation_cell(const std::optional<MeanStd>& u) {
  if (!u) return {"—", "--"};
  if (!u->std) return {fmt::format("{:.1f}", 100 * u->mean), fmt::format("{:.1f}", 100 * u->mean)};
  return {fmt::format("{:.1f} ± {:.1f}", 100 * u->mean, 100 * *u->std),
          fmt::format("{:.1f} $\\pm$ {:.1f}", 100 * u->mean, 100 * *u->std)};
}

}  // namespace

double median(std::vector<double> values) {
  if (values.empty()) throw std::invalid_argument("median of an empty list");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd out;
  if (values.empty()) return out;
  double sum = 0;
  for (double v : values) sum += v;
  out.mean = sum / static_cast<double>(values.size());
  if (values.size() >= 2) {
    double squares = 0;
    for (double v : values) squares += (v - out.mean) * (v - out.mean);
    out.std = std::sqrt(squares / static_cast<double>(values.size() - 1));
  }
  return out;
}

AxisScale axis_scale(const std::vector<std::string>& labels) {
  AxisScale scale;
  if (labels.empty()) return scale;
  if (const auto plain = read_all(labels, [](const std::string& label) { return parse_number(label); })) {
    scale.numeric = true;
    scale.values = *plain;
    scale.shown = labels;
    return scale;
  }
  struct Kind {
    double (*parse)(const std::string&);
    const char* si_unit;
  };
  for (const auto& kind : {Kind{parse_time, "s"}, Kind{parse_bandwidth, "Bps"}, Kind{parse_speed, "f"}}) {
    const auto si = read_all(labels, kind.parse);
    if (!si) continue;
    scale.numeric = true;
    // One unit in every label ("0.05ms 1ms 10ms"): the numbers as written; mixed units: SI.
    const auto unit = unit_suffix(labels.front());
    const auto written = read_all(labels, [&](const std::string& label) {
      if (unit_suffix(label) != unit) throw std::invalid_argument("another unit");
      return parse_number(label.substr(0, label.size() - unit.size()));
    });
    scale.unit = written ? unit : kind.si_unit;
    scale.values = written ? *written : *si;
    for (std::size_t v = 0; v < labels.size(); ++v)
      scale.shown.push_back(written ? labels[v].substr(0, labels[v].size() - unit.size()) : fmt::format("{:g}", scale.values[v]));
    return scale;
  }
  return scale;
}

std::vector<RoundRow> parse_rounds_csv(const std::string& text, const std::string& name) {
  const auto lines = split_lines(text);
  if (lines.empty()) throw std::runtime_error(name + ": empty file");
  const auto header = split_csv_line(lines.front());
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  for (const char* needed : {"round", "sim_time", "test_accuracy", "bytes_sent"})
    if (!column.count(needed)) throw std::runtime_error(fmt::format("{}: no column {}", name, quote_input(needed)));
  const auto get = [&](const std::vector<std::string>& fields, const char* key) -> std::string {
    const auto it = column.find(key);
    return it == column.end() || it->second >= fields.size() ? "0" : fields[it->second];
  };
  std::vector<RoundRow> rows;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto fields = split_csv_line(lines[i]);
    if (fields.size() != header.size()) throw std::runtime_error(fmt::format("{}:{}: expected {} fields", name, i + 1, header.size()));
    try {
      RoundRow row;
      row.round = static_cast<int>(parse_integer(get(fields, "round")));
      row.sim_time = parse_number(get(fields, "sim_time"));
      row.test_accuracy = parse_number(get(fields, "test_accuracy"));
      row.test_loss = parse_number(get(fields, "test_loss"));
      row.train_loss = parse_number(get(fields, "train_loss"));
      row.bytes_sent = static_cast<std::uint64_t>(parse_integer(get(fields, "bytes_sent")));
      row.messages_sent = static_cast<std::uint64_t>(parse_integer(get(fields, "messages_sent")));
      row.bytes_inter_zone = static_cast<std::uint64_t>(parse_integer(get(fields, "bytes_inter_zone")));
      row.energy = parse_number(get(fields, "energy_joules"));
      rows.push_back(row);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{}:{}: {}", name, i + 1, e.what()));
    }
  }
  if (rows.empty()) throw std::runtime_error(name + ": no evaluation rows");
  return rows;
}

StudyResults read_results(const fs::path& dir) {
  const fs::path study_file = dir / "study.json";
  const fs::path manifest_file = dir / "manifest.csv";
  if (!fs::exists(study_file) || !fs::exists(manifest_file))
    throw std::runtime_error(fmt::format("{}: not a study results directory (no study.json or manifest.csv; "
                                         "run `dmlsim sweep STUDY.xml` or `--list` first)", dir.string()));
  StudyResults results;
  const Json study = read_json(study_file);
  results.name = study.value("name", dir.filename().string());
  try {
    for (const auto& axis : study.at("axes")) {
      results.axes.push_back(axis.at("name").get<std::string>());
      results.axis_values.push_back(axis.at("values").get<std::vector<std::string>>());
    }
    std::vector<std::string> seeds;
    for (const auto& seed : study.at("seeds")) seeds.push_back(seed.dump());
    results.axes.push_back("seed");
    results.axis_values.push_back(seeds);
  } catch (const Json::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", study_file.string(), e.what()));
  }

  const auto lines = split_lines(read_file(manifest_file));
  if (lines.empty()) throw std::runtime_error(manifest_file.string() + ": empty file");
  std::vector<std::string> expected = {"run_id"};
  expected.insert(expected.end(), results.axes.begin(), results.axes.end());
  expected.push_back("run_dir");
  if (split_csv_line(lines.front()) != expected)
    throw std::runtime_error(fmt::format("{}: header does not match study.json (expected {})", manifest_file.string(),
                                         fmt::join(expected, ",")));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto fields = split_csv_line(lines[i]);
    if (fields.size() != expected.size())
      throw std::runtime_error(fmt::format("{}:{}: expected {} fields", manifest_file.string(), i + 1, expected.size()));
    RunResult run;
    run.id = fields.front();
    run.labels.assign(fields.begin() + 1, fields.end() - 1);
    const fs::path run_dir = dir / fields.back();
    if (fs::exists(run_dir / "summary.json")) {
      const Json summary = read_json(run_dir / "summary.json");
      run.present = true;
      run.rows = parse_rounds_csv(read_file(run_dir / "rounds.csv"), (run_dir / "rounds.csv").string());
      const Json result = summary.value("result", Json::object());
      run.final_accuracy = number_or(result, "final_accuracy", run.rows.back().test_accuracy);
      run.sim_time = number_or(result, "sim_time", run.rows.back().sim_time);
      const Json breakdown = summary.value("time_breakdown", Json::object());
      run.compute_time = number_or(breakdown, "mean_compute_time", 0);
      run.comm_time = number_or(breakdown, "mean_comm_time", 0);
      run.wait_time = number_or(breakdown, "mean_wait_time", 0);
      if (breakdown.contains("comm_compute_ratio") && breakdown["comm_compute_ratio"].is_number())
        run.comm_compute_ratio = breakdown["comm_compute_ratio"].get<double>();
      if (breakdown.contains("utilisation") && breakdown["utilisation"].is_number())
        run.utilisation = breakdown["utilisation"].get<double>();
      run.network = network_of(summary);
      if (summary.contains("time_to_accuracy") && summary["time_to_accuracy"].contains("targets"))
        for (const auto& t : summary["time_to_accuracy"]["targets"]) run.targets.push_back(t.value("target", 0.0));
      if (summary.contains("energy")) {
        const auto& energy = summary["energy"];
        run.energy = number_or(energy, "total_joules", 0);
        if (energy.contains("links")) {
          run.link_energy = number_or(energy["links"], "total_joules", 0);
          if (energy["links"].contains("wan_joules")) run.wan_link_energy = number_or(energy["links"], "wan_joules", 0);
        }
      }
    } else if (fs::exists(run_dir / "error.txt")) {
      run.failed = true;
      run.missing_reason = "failed: " + first_and_last_line(read_file(run_dir / "error.txt"));
    } else {
      run.missing_reason = fs::exists(run_dir) ? "not finished (no summary.json)" : "not run";
    }
    results.runs.push_back(std::move(run));
  }
  return results;
}

std::optional<double> parse_smoothing(const std::string& text) {
  if (text == "raw" || text.empty()) return std::nullopt;
  if (text == "ewma") return 0.9;
  if (text.rfind("ewma:", 0) == 0) {
    double alpha = 0;
    try {
      alpha = parse_number(text.substr(5));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("--smooth {}: {}", text, e.what()));
    }
    if (alpha < 0 || alpha >= 1) throw std::invalid_argument(fmt::format("--smooth {}: alpha must be in [0, 1)", text));
    return alpha;
  }
  throw std::invalid_argument(fmt::format("--smooth {}: expected raw, ewma or ewma:ALPHA (e.g. ewma:0.9)", text));
}

Table build_table(const StudyResults& results, const TableOptions& options) {
  Table table;
  table.study = results.name;
  table.ewma_alpha = options.ewma_alpha;
  table.breakdown = options.breakdown;
  table.wan_bytes = options.wan_bytes;
  table.utilisation = options.utilisation;
  table.energy = options.energy;
  if (options.energy)
    for (const auto& run : results.runs)
      if (run.present && !run.energy)
        throw std::invalid_argument(fmt::format("--energy: run {} has no energy (its scenario needs <energy/>)", run.id));
  table.baseline = options.baseline;

  // Grouping axes, as indices into results.axes.
  std::vector<std::size_t> by;
  const auto axis_index = [&](const std::string& name) {
    const auto it = std::find(results.axes.begin(), results.axes.end(), name);
    if (it == results.axes.end())
      throw std::invalid_argument(fmt::format("unknown axis {} (axes: {})", quote_input(name), fmt::join(results.axes, ", ")));
    return static_cast<std::size_t>(it - results.axes.begin());
  };
  if (!options.by) {
    for (std::size_t i = 0; i + 1 < results.axes.size(); ++i) by.push_back(i);
  } else if (!(options.by->size() == 1 && options.by->front() == "none")) {
    for (const auto& name : *options.by) {
      const auto i = axis_index(name);
      if (std::find(by.begin(), by.end(), i) != by.end()) throw std::invalid_argument(fmt::format("--by: {} twice", quote_input(name)));
      by.push_back(i);
    }
  }
  for (auto i : by) {
    table.by.push_back(results.axes[i]);
    table.by_scale.push_back(axis_scale(results.axis_values[i]));
    table.by_values.push_back(results.axis_values[i]);
  }

  std::optional<std::pair<std::size_t, std::string>> baseline;  // position in `by`, value
  if (!options.baseline.empty()) {
    const auto eq = options.baseline.find('=');
    if (eq == std::string::npos || eq == 0) throw std::invalid_argument(fmt::format("--baseline {}: expected AXIS=VALUE", options.baseline));
    const auto axis = axis_index(options.baseline.substr(0, eq));
    const auto value = options.baseline.substr(eq + 1);
    const auto pos = std::find(by.begin(), by.end(), axis);
    if (pos == by.end())
      throw std::invalid_argument(fmt::format("--baseline {}: axis {} is not one of the --by axes", options.baseline, quote_input(results.axes[axis])));
    const auto& values = results.axis_values[axis];
    if (std::find(values.begin(), values.end(), value) == values.end())
      throw std::invalid_argument(fmt::format("--baseline {}: {} is not a value of axis {} ({})", options.baseline, quote_input(value),
                                              quote_input(results.axes[axis]), fmt::join(values, ", ")));
    baseline = std::make_pair(static_cast<std::size_t>(pos - by.begin()), value);
  }

  for (double target : options.targets)
    if (!(target > 0 && target <= 1))
      throw std::invalid_argument(fmt::format("--target {:g}: a target is an accuracy in (0, 1]{}", target,
                                              target > 1 && target <= 100 ? fmt::format(" (for {:g} %, give {:g})", target, target / 100) : ""));
  table.targets = options.targets;
  if (table.targets.empty())
    for (const auto& run : results.runs)
      if (run.present) {
        table.targets = run.targets;
        break;
      }
  if (table.targets.empty()) throw std::invalid_argument("no target: give --target (no finished run names its targets)");

  // Groups, sorted by their values: numeric axes in numeric order, the others in the study's.
  std::vector<std::vector<std::size_t>> ranks;  // per axis, per value
  for (const auto& values : results.axis_values) {
    const auto scale = axis_scale(values);
    std::vector<std::size_t> order(values.size());
    for (std::size_t v = 0; v < order.size(); ++v) order[v] = v;
    if (scale.numeric)
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scale.values[a] < scale.values[b]; });
    std::vector<std::size_t> rank_of(values.size());
    for (std::size_t r = 0; r < order.size(); ++r) rank_of[order[r]] = r;
    ranks.push_back(rank_of);
  }
  const auto rank = [&](std::size_t axis, const std::string& label) {
    const auto& values = results.axis_values[axis];
    const auto index = static_cast<std::size_t>(std::find(values.begin(), values.end(), label) - values.begin());
    return index < values.size() ? ranks[axis][index] : index;
  };
  std::map<std::vector<std::size_t>, std::vector<const RunResult*>> groups;
  std::map<std::vector<std::size_t>, std::vector<std::string>> keys;
  for (const auto& run : results.runs) {
    std::vector<std::size_t> order;
    std::vector<std::string> key;
    for (auto i : by) {
      order.push_back(rank(i, run.labels[i]));
      key.push_back(run.labels[i]);
    }
    groups[order].push_back(&run);
    keys[order] = key;
    if (!run.present) table.missing.emplace_back(run.id, run.missing_reason);
    if (run.present && std::find(table.networks.begin(), table.networks.end(), run.network) == table.networks.end())
      table.networks.push_back(run.network);
  }

  for (const auto& [order, runs] : groups) {
    TableRow row;
    row.key = keys[order];
    row.total = runs.size();
    std::vector<const RunResult*> present;
    for (const auto* run : runs)
      if (run->present) present.push_back(run);
    row.runs = present.size();
    for (const auto* run : runs)
      if (run->failed) ++row.failed;
    std::vector<std::vector<TargetHit>> hits;
    for (const auto* run : present) hits.push_back(time_to_accuracy(run->rows, table.targets, options.ewma_alpha));
    for (std::size_t t = 0; t < table.targets.size(); ++t) {
      TargetStats stats;
      stats.runs = present.size() + row.failed;
      std::vector<double> times, rounds, bytes, wan_bytes, energy;
      for (const auto& run_hits : hits)
        if (run_hits[t].first) {
          times.push_back(run_hits[t].first->sim_time);
          rounds.push_back(run_hits[t].first->round);
          bytes.push_back(static_cast<double>(run_hits[t].first->bytes_sent));
          wan_bytes.push_back(static_cast<double>(run_hits[t].first->bytes_inter_zone));
          energy.push_back(run_hits[t].first->energy);
        }
      stats.reached = times.size();
      if (!times.empty()) {
        stats.median_time = median(times);
        stats.min_time = *std::min_element(times.begin(), times.end());
        stats.max_time = *std::max_element(times.begin(), times.end());
        stats.median_rounds = median(rounds);
        stats.median_bytes = median(bytes);
        stats.median_wan_bytes = median(wan_bytes);
        stats.median_energy = median(energy);
      }
      row.targets.push_back(stats);
    }
    if (!present.empty()) {
      std::vector<double> accuracy, sim_times, compute, comm, wait, ratio, utilisation, run_energy, link_energy, wan_link_energy;
      for (const auto* run : present) {
        accuracy.push_back(run->final_accuracy);
        sim_times.push_back(run->sim_time);
        compute.push_back(run->compute_time);
        comm.push_back(run->comm_time);
        wait.push_back(run->wait_time);
        if (run->comm_compute_ratio) ratio.push_back(*run->comm_compute_ratio);
        if (run->utilisation) utilisation.push_back(*run->utilisation);
        if (run->energy) run_energy.push_back(*run->energy);
        if (run->link_energy) link_energy.push_back(*run->link_energy);
        if (run->wan_link_energy) wan_link_energy.push_back(*run->wan_link_energy);
      }
      if (!utilisation.empty()) row.utilisation = mean_std(utilisation);
      row.final_accuracy = mean_std(accuracy);
      row.sim_time = median(sim_times);
      row.compute_time = mean_std(compute).mean;
      row.comm_time = mean_std(comm).mean;
      row.wait_time = mean_std(wait).mean;
      if (!ratio.empty()) row.comm_compute_ratio = mean_std(ratio).mean;
      if (!run_energy.empty()) row.energy = median(run_energy);
      if (!link_energy.empty()) row.link_energy = median(link_energy);
      if (!wan_link_energy.empty()) row.wan_link_energy = median(wan_link_energy);
      table.link_energy = table.link_energy || (table.energy && row.link_energy.has_value());
    }
    table.rows.push_back(row);
  }

  if (baseline) {
    const auto [pos, value] = *baseline;
    for (auto& row : table.rows) {
      const TableRow* base = nullptr;
      for (const auto& candidate : table.rows) {
        bool match = candidate.key[pos] == value;
        for (std::size_t k = 0; match && k < row.key.size(); ++k)
          if (k != pos && candidate.key[k] != row.key[k]) match = false;
        if (match) base = &candidate;
      }
      if (!base) continue;
      for (std::size_t t = 0; t < row.targets.size(); ++t) {
        const auto& mine = row.targets[t].median_time;
        const auto& theirs = base->targets[t].median_time;
        if (mine && theirs && *mine > 0) row.targets[t].speedup = *theirs / *mine;
      }
    }
  }
  return table;
}

std::string format_table(const Table& t, const std::string& format) {
  const bool speedup = !t.baseline.empty();
  if (format == "csv") {
    // Units in the names: _s seconds, _B bytes, _J joules; accuracy and utilisation are fractions.
    std::vector<std::string> header;
    for (std::size_t k = 0; k < t.by.size(); ++k) header.push_back(csv_field(axis_header(t, k, true)));
    header.insert(header.end(), {"runs", "runs_failed", "runs_total"});
    for (double target : t.targets) {
      const auto n = target_name(target);
      for (const char* column : {"reached", "time_median_s", "time_min_s", "time_max_s", "rounds_median", "bytes_median_B"})
        header.push_back(fmt::format("t{}_{}", n, column));
      if (t.wan_bytes) header.push_back(fmt::format("t{}_wan_bytes_median_B", n));
      if (t.energy) header.push_back(fmt::format("t{}_energy_median_J", n));
      if (speedup) header.push_back(fmt::format("t{}_speedup", n));
    }
    header.insert(header.end(), {"final_accuracy_mean", "final_accuracy_std", "sim_time_median_s"});
    if (t.energy) header.push_back("energy_median_J");
    if (t.link_energy) header.insert(header.end(), {"link_energy_median_J", "wan_link_energy_median_J"});
    if (t.breakdown) header.insert(header.end(), {"compute_time_s", "comm_time_s", "wait_time_s", "comm_compute_ratio"});
    if (t.utilisation) header.insert(header.end(), {"utilisation_mean", "utilisation_std"});
    header.push_back("curve");
    std::string out = fmt::format("{}\n", fmt::join(header, ","));
    const std::string curve = t.ewma_alpha ? fmt::format("ewma:{:g}", *t.ewma_alpha) : "raw";
    for (const auto& row : t.rows) {
      std::vector<std::string> fields;
      for (std::size_t k = 0; k < row.key.size(); ++k) fields.push_back(csv_field(axis_cell(t, k, row.key[k], true)));
      fields.push_back(std::to_string(row.runs));
      fields.push_back(std::to_string(row.failed));
      fields.push_back(std::to_string(row.total));
      for (const auto& s : row.targets) {
        fields.push_back(std::to_string(s.reached));
        for (const auto* v : {&s.median_time, &s.min_time, &s.max_time, &s.median_rounds, &s.median_bytes}) fields.push_back(opt(*v));
        if (t.wan_bytes) fields.push_back(opt(s.median_wan_bytes));
        if (t.energy) fields.push_back(opt(s.median_energy));
        if (speedup) fields.push_back(opt(s.speedup));
      }
      fields.push_back(row.final_accuracy ? fmt::format("{}", row.final_accuracy->mean) : "");
      fields.push_back(row.final_accuracy ? opt(row.final_accuracy->std) : "");
      fields.push_back(opt(row.sim_time));
      if (t.energy) fields.push_back(opt(row.energy));
      if (t.link_energy) {
        fields.push_back(opt(row.link_energy));
        fields.push_back(opt(row.wan_link_energy));
      }
      if (t.breakdown)
        for (const auto* v : {&row.compute_time, &row.comm_time, &row.wait_time, &row.comm_compute_ratio}) fields.push_back(opt(*v));
      if (t.utilisation) {
        fields.push_back(row.utilisation ? fmt::format("{}", row.utilisation->mean) : "");
        fields.push_back(row.utilisation ? opt(row.utilisation->std) : "");
      }
      fields.push_back(curve);
      out += fmt::format("{}\n", fmt::join(fields, ","));
    }
    return out;
  }
  if (format != "md" && format != "tex") throw std::invalid_argument(fmt::format("--format {}: expected md, csv or tex", format));
  const bool tex = format == "tex";

  // Header and cells, shared by md and tex.
  const auto bytes_unit = byte_units(t, false), wan_unit = byte_units(t, true);
  std::vector<Cell> header;
  for (std::size_t k = 0; k < t.by.size(); ++k) header.push_back({axis_header(t, k, false), tex_escape(axis_header(t, k, false))});
  header.push_back({"runs", "runs"});
  for (std::size_t target = 0; target < t.targets.size(); ++target) {
    const auto n = target_name(t.targets[target]);
    header.push_back({fmt::format("time to {} (s)", n), fmt::format("$t_{{{}}}$ (s)", n)});
    header.push_back({fmt::format("rounds to {}", n), "rounds"});
    header.push_back({fmt::format("bytes to {} ({})", n, bytes_unit[target].name), fmt::format("bytes ({})", bytes_unit[target].name)});
    if (t.wan_bytes)
      header.push_back({fmt::format("WAN bytes to {} ({})", n, wan_unit[target].name), fmt::format("WAN bytes ({})", wan_unit[target].name)});
    if (t.energy) header.push_back({fmt::format("energy to {} (J)", n), "energy (J)"});
    header.push_back({fmt::format("reached {}", n), "reached"});
    if (speedup) header.push_back({fmt::format("speedup at {} (×)", n), "speedup ($\\times$)"});
  }
  header.push_back({"final accuracy", "final acc."});
  header.push_back({"run sim time (s)", "run time (s)"});
  if (t.energy) header.push_back({"run energy (J)", "run energy (J)"});
  if (t.link_energy)
    for (const char* name : {"link energy (J)", "WAN link energy (J)"}) header.push_back({name, name});
  if (t.breakdown)
    for (const char* name : {"compute (s)", "comm (s)", "wait (s)", "comm/compute"}) header.push_back({name, name});
  if (t.utilisation) header.push_back({"utilisation (%)", "util. (\\%)"});

  std::vector<std::vector<Cell>> body;
  for (const auto& row : t.rows) {
    std::vector<Cell> cells;
    for (std::size_t k = 0; k < row.key.size(); ++k) {
      const auto text = axis_cell(t, k, row.key[k], false);
      cells.push_back({text, tex_escape(text)});
    }
    std::string runs = std::to_string(row.runs);
    if (row.failed) runs += fmt::format(" + {} failed", row.failed);
    if (row.runs + row.failed < row.total) runs += fmt::format(" ({} not run)", row.total - row.runs - row.failed);
    cells.push_back({runs, runs});
    for (std::size_t target = 0; target < row.targets.size(); ++target) {
      const auto& s = row.targets[target];
      if (s.median_time) {
        cells.push_back({fmt::format("{:#.4g} ({:#.4g}–{:#.4g})", *s.median_time, *s.min_time, *s.max_time),
                         fmt::format("{:#.4g} ({:#.4g}--{:#.4g})", *s.median_time, *s.min_time, *s.max_time)});
        const auto rounds = fmt::format("{:g}", *s.median_rounds);
        cells.push_back({rounds, rounds});
        const auto bytes = in_unit(*s.median_bytes, bytes_unit[target]);
        cells.push_back({bytes, bytes});
        if (t.wan_bytes) {
          const auto wan = in_unit(*s.median_wan_bytes, wan_unit[target]);
          cells.push_back({wan, wan});
        }
        if (t.energy) cells.push_back({fmt::format("{:#.4g}", *s.median_energy), fmt::format("{:#.4g}", *s.median_energy)});
      } else {
        for (int i = 0; i < 3 + int{t.wan_bytes} + int{t.energy}; ++i) cells.push_back({"—", "--"});
      }
      const auto reached = fmt::format("{}/{}", s.reached, s.runs);
      cells.push_back({reached, reached});
      if (speedup)
        cells.push_back(s.speedup ? Cell{fmt::format("{:.2f}", *s.speedup), fmt::format("{:.2f}", *s.speedup)} : Cell{"—", "--"});
    }
    if (row.final_accuracy) {
      const auto& a = *row.final_accuracy;
      cells.push_back(a.std ? Cell{fmt::format("{:.4f} ± {:.4f}", a.mean, *a.std), fmt::format("{:.4f} $\\pm$ {:.4f}", a.mean, *a.std)}
                            : Cell{fmt::format("{:.4f}", a.mean), fmt::format("{:.4f}", a.mean)});
    } else {
      cells.push_back({"—", "--"});
    }
    const auto run_time = row.sim_time ? fmt::format("{:#.4g}", *row.sim_time) : std::string("—");
    cells.push_back({run_time, row.sim_time ? run_time : "--"});
    const auto joules_cell = [](const std::optional<double>& joules) {
      return joules ? Cell{fmt::format("{:#.4g}", *joules), fmt::format("{:#.4g}", *joules)} : Cell{"—", "--"};
    };
    if (t.energy) cells.push_back(joules_cell(row.energy));
    if (t.link_energy)
      for (const auto* v : {&row.link_energy, &row.wan_link_energy}) cells.push_back(joules_cell(*v));
    if (t.breakdown)
      for (const auto* v : {&row.compute_time, &row.comm_time, &row.wait_time, &row.comm_compute_ratio}) {
        const auto text = *v ? fmt::format("{:.4g}", **v) : std::string("—");
        cells.push_back({text, *v ? text : "--"});
      }
    if (t.utilisation) cells.push_back(utilisation_cell(row.utilisation));
    body.push_back(cells);
  }

  std::string out;
  if (tex) {
    out += "% " + caption(t) + "\n";
    out += fmt::format("\\begin{{tabular}}{{{}{}}}\n\\toprule\n", std::string(t.by.size(), 'l'), std::string(header.size() - t.by.size(), 'r'));
    std::vector<std::string> names;
    for (const auto& h : header) names.push_back(h.tex);
    out += fmt::format("{} \\\\\n\\midrule\n", fmt::join(names, " & "));
    for (const auto& cells : body) {
      std::vector<std::string> texts;
      for (const auto& c : cells) texts.push_back(c.tex);
      out += fmt::format("{} \\\\\n", fmt::join(texts, " & "));
    }
    out += "\\bottomrule\n\\end{tabular}\n";
  } else {
    out += caption(t) + "\n\n";
    std::vector<std::string> names, rule;
    for (std::size_t i = 0; i < header.size(); ++i) {
      names.push_back(header[i].md);
      rule.push_back(i < t.by.size() ? "---" : "---:");
    }
    out += fmt::format("| {} |\n|{}|\n", fmt::join(names, " | "), fmt::join(rule, "|"));
    for (const auto& cells : body) {
      std::vector<std::string> texts;
      for (const auto& c : cells) texts.push_back(c.md);
      out += fmt::format("| {} |\n", fmt::join(texts, " | "));
    }
  }
  if (!t.missing.empty()) {
    const std::string prefix = tex ? "% " : "";
    out += fmt::format("\n{}{} run(s) without results:\n", prefix, t.missing.size());
    for (const auto& [id, reason] : t.missing) out += fmt::format("{}- {}: {}\n", prefix, id, reason);
  }
  return out;
}

}  // namespace dmlsim::study
