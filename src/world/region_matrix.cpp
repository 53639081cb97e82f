#include "world/region_matrix.hpp"

#include "scenario/scenario.hpp"
#include "util/atomic_file.hpp"
#include "util/units.hpp"
#include "util/quote.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <sstream>

namespace dmlsim {

namespace {

enum class Kind { Time, Bandwidth };

const char* kind_name(Kind kind) { return kind == Kind::Time ? "round-trip time" : "bandwidth"; }

// A column resolved to its index and the factor that turns its values into seconds or bytes/s.
struct Column {
  std::string name;
  std::size_t index = 0;
  double factor = 1;
};

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) fields.push_back(trim(field));
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

// Value of one unit ("ms", "gbps", "Gbps") in seconds or bytes/s; throws if it is not a unit of
// that kind. Column names are usually lower case, so "gbps" reads as "Gbps" (bits, as iperf).
double unit_factor(const std::string& unit, Kind kind) {
  if (unit.empty() || std::isdigit(static_cast<unsigned char>(unit.front())))
    throw std::invalid_argument("not a unit");
  if (kind == Kind::Time) return parse_time("1" + unit);
  try {
    return parse_bandwidth("1" + unit);
  } catch (const std::invalid_argument&) {
    auto capitalised = unit;
    capitalised.front() = static_cast<char>(std::toupper(static_cast<unsigned char>(capitalised.front())));
    return parse_bandwidth("1" + capitalised);
  }
}

// The unit a column name carries as one of its '_'-separated words, e.g. rtt_ms_dtfm → ms.
std::vector<std::pair<std::string, double>> units_in_name(const std::string& name, Kind kind) {
  std::vector<std::pair<std::string, double>> found;
  std::stringstream in(name);
  std::string word;
  while (std::getline(in, word, '_')) {
    try {
      found.emplace_back(word, unit_factor(word, kind));
    } catch (const std::invalid_argument&) {
    }
  }
  return found;
}

bool looks_like(const std::string& name, Kind kind) {
  if (kind == Kind::Time) return name.rfind("rtt", 0) == 0;
  return !units_in_name(name, kind).empty();
}

Column resolve_column(const std::string& choice, const std::vector<std::string>& header, Kind kind,
                      const std::string& file) {
  const auto colon = choice.find(':');
  const std::string name = choice.substr(0, colon);
  auto fail = [&](const std::string& what) { throw ScenarioError(file, 1, what); };
  std::string known;
  for (std::size_t i = 2; i < header.size(); ++i) known += (known.empty() ? "" : ", ") + header[i];
  Column column;
  if (name.empty()) {
    const auto it = std::find_if(header.begin() + 2, header.end(), [&](const auto& h) { return looks_like(h, kind); });
    if (it == header.end())
      fail(fmt::format("no {} column (columns: {}); name one with --{}-column", kind_name(kind), known,
                       kind == Kind::Time ? "rtt" : "bw"));
    column.index = static_cast<std::size_t>(it - header.begin());
  } else {
    const auto it = std::find(header.begin() + 2, header.end(), name);
    if (it == header.end()) fail(fmt::format("unknown {} column {} (columns: {})", kind_name(kind), quote_input(name), known));
    column.index = static_cast<std::size_t>(it - header.begin());
  }
  column.name = header[column.index];
  if (colon != std::string::npos) {
    const auto unit = choice.substr(colon + 1);
    try {
      column.factor = unit_factor(unit, kind);
    } catch (const std::invalid_argument&) {
      fail(fmt::format("column {}: {} is not a {} unit", quote_input(column.name), quote_input(unit), kind_name(kind)));
    }
    return column;
  }
  const auto units = units_in_name(column.name, kind);
  if (units.size() != 1)
    fail(fmt::format("column {} {} {} unit in its name; name it like {} or give the unit: {}:{}", quote_input(column.name),
                     units.empty() ? "has no" : "has more than one", kind_name(kind),
                     kind == Kind::Time ? "rtt_ms_source" : "gbps_source", column.name,
                     kind == Kind::Time ? "ms" : "Gbps"));
  column.factor = units.front().second;
  return column;
}

double read_value(const std::string& text, const Column& column, const std::string& file, int line) {
  double value = 0;
  try {
    value = parse_number(text);
  } catch (const std::invalid_argument& e) {
    throw ScenarioError(file, line, fmt::format("column {}: {}", quote_input(column.name), e.what()));
  }
  if (!(value > 0)) throw ScenarioError(file, line, fmt::format("column {}: {} is not positive", quote_input(column.name), text));
  return value * column.factor;
}

bool valid_region_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

// Adds one row's pair, or checks it against the same pair given before (either direction).
void add_pair(RegionMatrix& m, std::map<std::pair<std::string, std::string>, std::size_t>& seen, RegionPair pair,
              const std::string& file) {
  const auto key = std::minmax(pair.a, pair.b);
  const auto it = seen.find(key);
  if (it == seen.end()) {
    for (const auto* region : {&pair.a, &pair.b})
      if (std::find(m.regions.begin(), m.regions.end(), *region) == m.regions.end()) m.regions.push_back(*region);
    seen.emplace(key, m.pairs.size());
    m.pairs.push_back(std::move(pair));
    return;
  }
  const auto& first = m.pairs[it->second];
  if (first.rtt != pair.rtt || first.bandwidth != pair.bandwidth)
    throw ScenarioError(file, pair.line,
                        fmt::format("pair {}–{} differs from line {} (round-trip time {} s vs {} s, bandwidth {} B/s "
                                    "vs {} B/s); a pair must be symmetric",
                                    pair.a, pair.b, first.line, pair.rtt, first.rtt, pair.bandwidth, first.bandwidth));
}

void check_complete(const RegionMatrix& m, const std::map<std::pair<std::string, std::string>, std::size_t>& seen,
                    int last_line) {
  const auto file = m.file.string();
  if (m.regions.size() < 2) throw ScenarioError(file, last_line, "a matrix needs at least two regions");
  for (std::size_t i = 0; i < m.regions.size(); ++i)
    for (std::size_t j = i + 1; j < m.regions.size(); ++j)
      if (!seen.count(std::minmax(m.regions[i], m.regions[j])))
        throw ScenarioError(file, last_line,
                            fmt::format("pair {}–{} is missing (every two of the {} regions need a row)", m.regions[i],
                                        m.regions[j], m.regions.size()));
}

}  // namespace

RegionMatrix read_region_matrix(const std::filesystem::path& path, const ColumnChoice& choice) {
  const auto file = path.string();
  std::string text;
  try {
    text = read_file(path);
  } catch (const std::runtime_error& e) {
    throw ScenarioError(file, 0, e.what());
  }
  std::stringstream in(text);
  std::string line_text;
  int line = 0;
  std::vector<std::string> header;
  while (header.empty() && std::getline(in, line_text)) {
    ++line;
    if (!trim(line_text).empty()) header = split_fields(line_text);
  }
  if (header.size() < 4 || header[0] != "region_a" || header[1] != "region_b")
    throw ScenarioError(file, std::max(line, 1),
                        "the header must start with region_a,region_b and name at least a round-trip time column and a "
                        "bandwidth column");
  for (auto column = header.begin() + 1; column != header.end(); ++column)
    if (std::find(header.begin(), column, *column) != column)
      throw ScenarioError(file, line, fmt::format("column {} is named twice in the header", quote_input(*column)));
  RegionMatrix m;
  m.file = path;
  const auto rtt = resolve_column(choice.rtt, header, Kind::Time, file);
  const auto bandwidth = resolve_column(choice.bandwidth, header, Kind::Bandwidth, file);
  m.rtt_column = rtt.name;
  m.bandwidth_column = bandwidth.name;
  std::map<std::pair<std::string, std::string>, std::size_t> seen;
  while (std::getline(in, line_text)) {
    ++line;
    if (trim(line_text).empty()) continue;
    const auto fields = split_fields(line_text);
    if (fields.size() != header.size())
      throw ScenarioError(file, line, fmt::format("{} fields, the header has {}", fields.size(), header.size()));
    for (int side : {0, 1})
      if (!valid_region_name(fields[side]))
        throw ScenarioError(file, line,
                            fmt::format("region name {}: use letters, digits, '-' and '.'", quote_input(fields[side])));
    if (fields[0] == fields[1]) throw ScenarioError(file, line, fmt::format("region {} paired with itself", fields[0]));
    add_pair(m, seen,
             RegionPair{fields[0], fields[1], read_value(fields[rtt.index], rtt, file, line),
                        read_value(fields[bandwidth.index], bandwidth, file, line), line},
             file);
  }
  check_complete(m, seen, line);
  return m;
}

}  // namespace dmlsim
