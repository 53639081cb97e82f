// Pins the parameter-server outputs of the shipped scenarios: rounds.csv and summary.json (less
// wall time and machine paths) are fingerprinted and compared with tests/golden/parameter_server.txt.
// The seam left these outputs byte-identical to the code before it; the fingerprints were renewed
// twice since, each time with every other column and field unchanged: when rounds.csv and
// summary.json gained the intra/inter-zone byte split, and when a worker's idle time after its
// last upload (until the run ends) became waiting, so that per worker compute + communication +
// waiting = simulated time; and when summary.json gained compute utilisation per worker and overall
// (checked then: with those fields erased, the old fingerprints held). Any other change to what a shipped scenario produces fails here. Regenerate (after checking the change is meant) with
//   DMLSIM_UPDATE_GOLDEN=1 build/tests/test_topology_golden
#include "test_util.hpp"

#include <cstdint>
#include <cstdlib>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace dmlsim::testutil;
namespace fs = std::filesystem;

namespace {

// FNV-1a, 64 bits: a fingerprint that is the same on every platform.
std::uint64_t fingerprint(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string portable_summary(const fs::path& file) {
  auto j = nlohmann::json::parse(read_text(file));
  j["result"].erase("wall_time");
  j["network"].erase("description");  // names the profile by its absolute path
  if (j["network"].contains("profile")) j["network"]["profile"].erase("file");
  return j.dump();
}

struct Case {
  std::string name;
  std::string args;
};

const std::vector<Case> kCases = {
    {"seed-ssgd", "scenarios/seed/ssgd.xml"},
    {"seed-ma", "scenarios/seed/ma.xml"},
    {"seed-bmuf", "scenarios/seed/bmuf.xml"},
    {"seed-easgd", "scenarios/seed/easgd.xml"},
    {"wan-ssgd", "scenarios/wan/ssgd.xml"},
    {"wan-ma", "scenarios/wan/ma.xml"},
    {"wan-bmuf", "scenarios/wan/bmuf.xml"},
    {"wan-easgd", "scenarios/wan/easgd.xml"},
    {"wan-ssgd-bare", "scenarios/wan/ssgd.xml --bare"},
    {"wan-ssgd-stop", "scenarios/wan/ssgd.xml --set stop.target-accuracy=0.95 --set training.charge-eval=true "
                      "--set training.eval-every=3"},
    {"wan-ma-maxtime", "scenarios/wan/ma.xml --set stop.max-time=2s"},
    // Client sampling and backup workers (arrival order), at 200 workers: several broadcast groups,
    // uploads of dropped stragglers. Pinned from the shared-upload-mailbox code they replaced.
    {"wan-fedavg", "scenarios/wan/fedavg.xml"},
    {"wan-fedavg-200", "scenarios/wan/fedavg.xml --set workers.count=200 --set algorithm.fraction=0.9"},
    {"wan-ssgd-backup", "scenarios/wan/ssgd-backup.xml"},
    {"wan-ssgd-backup-200", "scenarios/wan/ssgd-backup.xml --set workers.count=200 --set algorithm.backup=37"},
};

std::string line_for(const Case& c, const fs::path& out) {
  const auto result = run_dmlsim(fmt::format("run -q {} --out {}", c.args, out.string()));
  if (result.exit_code != 0) return c.name + " failed: " + result.out;
  return fmt::format("{} {:016x} {:016x}", c.name, fingerprint(read_text(out / "rounds.csv")),
                     fingerprint(portable_summary(out / "summary.json")));
}

}  // namespace

TEST(ParameterServerGolden, ShippedScenariosProduceThePinnedOutputs) {
  const auto golden = source_dir() / "tests/golden/parameter_server.txt";
  TempDir dir;
  std::string lines;
  for (const auto& c : kCases) lines += line_for(c, dir / c.name) + "\n";
  if (std::getenv("DMLSIM_UPDATE_GOLDEN")) write_text(golden, lines);
  std::istringstream expected(read_text(golden)), actual(lines);
  for (std::string want, got; std::getline(expected, want) && std::getline(actual, got);) EXPECT_EQ(got, want);
  EXPECT_EQ(lines, read_text(golden));
}
