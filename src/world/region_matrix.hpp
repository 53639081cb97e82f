// A measured inter-region matrix: one CSV row per region pair, a round-trip time column and a
// bandwidth column chosen by name, each column carrying its unit in its name ("rtt_ms_…",
// "gbps_…") or given one explicitly ("NAME:UNIT"). Pure code: no SimGrid.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dmlsim {

struct RegionPair {
  std::string a, b;         // region names, in the file's order
  double rtt = 0;           // round-trip time, seconds
  double bandwidth = 0;     // bytes per second
  int line = 0;             // line of the pair's first row
};

struct RegionMatrix {
  std::filesystem::path file;
  std::vector<std::string> regions;  // in order of first appearance
  std::vector<RegionPair> pairs;     // one per unordered pair, in the file's order
  std::string rtt_column, bandwidth_column;  // the columns read, as named in the header
};

// A column selector "NAME" or "NAME:UNIT"; an empty NAME picks the first column of that kind
// (name starting with "rtt" for times, the first whose name carries a bandwidth unit for rates).
struct ColumnChoice {
  std::string rtt, bandwidth;
};

// Reads and checks the matrix: header with region_a and region_b, the chosen columns present and
// with a unit, every row complete, values positive and finite, no region paired with itself, a
// pair given twice only with the same values (either direction), every pair of regions present.
// Throws ScenarioError("file", line, what) on the first problem.
RegionMatrix read_region_matrix(const std::filesystem::path& file, const ColumnChoice& columns);

}  // namespace dmlsim
