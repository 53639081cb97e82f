// Studies end to end through the dmlsim binary: sweep, resume, failing runs, interruption, and
// the GNU parallel path giving the same table as `sweep -j 2`.
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace dmlsim::testutil;
namespace fs = std::filesystem;

namespace {

const std::string kSmall = "scenarios/studies/ci-small.xml";  // 2 algorithms x 2 latencies x 2 seeds, 20 rounds

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

std::size_t finished_runs(const fs::path& results) {
  std::size_t n = 0;
  if (!fs::exists(results / "runs")) return 0;
  for (const auto& entry : fs::directory_iterator(results / "runs"))
    if (fs::exists(entry.path() / "summary.json")) ++n;
  return n;
}

bool have_parallel() { return std::system("command -v parallel > /dev/null 2>&1") == 0; }

}  // namespace

TEST(StudySweep, RunsResumesAndMatchesGnuParallel) {
  TempDir out;
  const auto a = out / "a";
  const auto first = run_dmlsim(fmt::format("sweep {} -j 2 --out {}", kSmall, a.string()));
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("8 runs: 8 ran now, 0 already done, 0 failed"), std::string::npos) << first.out;
  EXPECT_EQ(finished_runs(a), 8u);
  const auto manifest = read_text(a / "manifest.csv");
  EXPECT_EQ(count(manifest, "\n"), 9u);
  EXPECT_NE(manifest.find("run_id,algorithm,wan-latency,seed,run_dir\n"), std::string::npos);
  EXPECT_NE(manifest.find("algorithm-ma_wan-latency-50ms_seed-2,ma,50ms,2,runs/algorithm-ma_wan-latency-50ms_seed-2\n"),
            std::string::npos);
  const auto study = nlohmann::json::parse(read_text(a / "study.json"));
  EXPECT_EQ(study["axes"][1]["numeric_values"][1], 0.05);
  const auto run_dir = a / "runs" / "algorithm-ma_wan-latency-50ms_seed-2";
  EXPECT_TRUE(fs::exists(run_dir / "run.log"));
  EXPECT_FALSE(fs::exists(run_dir / "error.txt"));
  const auto summary = nlohmann::json::parse(read_text(run_dir / "summary.json"));
  EXPECT_EQ(summary["seed"], 2);
  EXPECT_EQ(summary["result"]["rounds"], 20);
  EXPECT_EQ(summary["algorithm"]["name"], "ma");

  // Resume: only the run whose summary.json is gone runs again.
  const auto kept = a / "runs" / "algorithm-ssgd_wan-latency-1ms_seed-1" / "rounds.csv";
  const auto kept_time = fs::last_write_time(kept);
  fs::remove(run_dir / "summary.json");
  const auto second = run_dmlsim(fmt::format("sweep {} -j 2 --out {}", kSmall, a.string()));
  ASSERT_EQ(second.exit_code, 0) << second.out;
  EXPECT_NE(second.out.find("8 runs: 1 ran now, 7 already done, 0 failed"), std::string::npos) << second.out;
  EXPECT_EQ(count(second.out, "] ok "), 1u) << second.out;
  EXPECT_NE(second.out.find("] ok algorithm-ma_wan-latency-50ms_seed-2"), std::string::npos) << second.out;
  EXPECT_EQ(fs::last_write_time(kept), kept_time);
  EXPECT_EQ(finished_runs(a), 8u);

  const std::string table_args = " --format csv --target 0.8 --target 0.9 --baseline algorithm=ssgd --breakdown";
  const auto table_a = run_dmlsim("table " + a.string() + table_args);
  ASSERT_EQ(table_a.exit_code, 0) << table_a.out;
  EXPECT_EQ(count(table_a.out, "\n"), 5u) << table_a.out;  // header + 4 rows

  if (!have_parallel()) GTEST_SKIP() << "GNU parallel is not installed";
  const auto b = out / "b";
  const auto list = run_dmlsim(fmt::format("sweep {} --list --out {} 2>/dev/null | parallel --will-cite -j 2", kSmall, b.string()));
  ASSERT_EQ(list.exit_code, 0) << list.out;
  EXPECT_EQ(finished_runs(b), 8u);
  const auto table_b = run_dmlsim("table " + b.string() + table_args);
  EXPECT_EQ(table_b.out, table_a.out);
  EXPECT_EQ(run_dmlsim("table " + b.string()).out, run_dmlsim("table " + a.string()).out);
  // Nothing is pending any more.
  const auto none = run_dmlsim(fmt::format("sweep {} --list --out {}", kSmall, b.string()));
  EXPECT_EQ(none.out, "dmlsim sweep: 0 of 8 runs pending in " + b.string() + "\n");
}

TEST(StudySweep, AFailingRunIsReportedAndTheOthersFinish) {
  TempDir out;
  write_text(out / "fail.xml", fmt::format(R"(<study name="fail" scenario="{}">
  <axis name="eta" set="algorithm.eta" values="0.1 1e306"/>
  <fixed set="training.rounds" value="20"/>
  <seeds values="1"/>
</study>
)", (source_dir() / "scenarios/seed/ssgd.xml").string()));
  const auto results = out / "r";
  const auto result = run_dmlsim(fmt::format("sweep {} -j 2 --out {}", (out / "fail.xml").string(), results.string()));
  EXPECT_EQ(result.exit_code, 3) << result.out;
  EXPECT_NE(result.out.find("FAILED eta-1e306_seed-1: exit code 3: dmlsim: "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("the model diverged"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("2 runs: 1 ran now, 0 already done, 1 failed"), std::string::npos) << result.out;
  EXPECT_TRUE(fs::exists(results / "runs/eta-0.1_seed-1/summary.json"));
  EXPECT_FALSE(fs::exists(results / "runs/eta-1e306_seed-1/summary.json"));
  EXPECT_NE(read_text(results / "runs/eta-1e306_seed-1/error.txt").find("exit code 3\n"), std::string::npos);
  EXPECT_NE(read_text(results / "runs/eta-1e306_seed-1/run.log").find("diverged"), std::string::npos);
  const auto table = run_dmlsim("table " + results.string() + " --target 0.8");
  EXPECT_EQ(table.exit_code, 0) << table.out;
  EXPECT_NE(table.out.find("| 1e306 | 0 + 1 failed | — | — | — | 0/1 |"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("- eta-1e306_seed-1: failed: exit code 3: "), std::string::npos) << table.out;

  // The --list path records the failure the same way.
  const auto listed = out / "l";
  run_dmlsim(fmt::format("sweep {} --list --out {} 2>/dev/null | sh", (out / "fail.xml").string(), listed.string()));
  EXPECT_TRUE(fs::exists(listed / "runs/eta-0.1_seed-1/summary.json"));
  EXPECT_NE(read_text(listed / "runs/eta-1e306_seed-1/error.txt").find("exit code 3\n"), std::string::npos);
}

TEST(StudySweep, BadStudiesStopBeforeRunning) {
  TempDir out;
  write_text(out / "bad.xml", "<study scenario=\"" + (source_dir() / "scenarios/wan/ssgd.xml").string() +
                                  "\">\n  <axis name=\"lat\" link=\"gpu-*\" property=\"latency\" values=\"1ms\"/>\n"
                                  "  <seeds values=\"1\"/>\n</study>\n");
  const auto nolink = run_dmlsim(fmt::format("sweep {} --out {}", (out / "bad.xml").string(), (out / "r").string()));
  EXPECT_EQ(nolink.exit_code, 2) << nolink.out;
  EXPECT_NE(nolink.out.find("bad.xml:1: run lat-1ms_seed-1: "), std::string::npos) << nolink.out;
  EXPECT_NE(nolink.out.find("'gpu-*' matches no link"), std::string::npos) << nolink.out;
  EXPECT_FALSE(fs::exists(out / "r")) << "a bad study writes nothing";

  write_text(out / "typo.xml", "<study scenario=\"" + (source_dir() / "scenarios/wan/ssgd.xml").string() +
                                   "\">\n  <axis name=\"eta\" sett=\"algorithm.eta\" values=\"1\"/>\n  <seeds values=\"1\"/>\n</study>\n");
  const auto typo = run_dmlsim(fmt::format("sweep {} --out {}", (out / "typo.xml").string(), (out / "r").string()));
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.out.find("typo.xml:2: <axis>"), std::string::npos) << typo.out;

  const auto table = run_dmlsim("table " + out.path().string());
  EXPECT_EQ(table.exit_code, 2);
  EXPECT_NE(table.out.find("not a study results directory"), std::string::npos) << table.out;
}

TEST(StudySweep, InterruptedSweepResumesWhereItStopped) {
  TempDir out;
  const auto results = out / "r";
  write_text(out / "long.xml", fmt::format(R"(<study name="long" scenario="{}">
  <axis name="lat" link="wan-*" property="latency" values="1ms 50ms"/>
  <fixed set="training.rounds" value="30"/>
  <seeds from="1" to="20"/>
</study>
)", (source_dir() / "scenarios/wan/ma.xml").string()));
  const std::string sweep = fmt::format("'{}' sweep '{}' -j 2 --out '{}'", DMLSIM_BINARY, (out / "long.xml").string(), results.string());
  // Start, interrupt once a first run has finished: no fixed delay, which is too short on a loaded
  // machine (and an early SIGINT, before the sweep installs its handler, is ignored by a background
  // job). A sweep that ends on its own before any run finished ends the wait too.
  const int status = std::system((sweep + " > /dev/null 2>&1 & pid=$!; until ls '" + results.string() +
                                  "'/runs/*/summary.json > /dev/null 2>&1 || ! kill -0 $pid 2> /dev/null; do sleep 0.02; done; kill -INT $pid; wait $pid")
                                     .c_str());
  EXPECT_NE(status, 0);
  const auto done = finished_runs(results);
  EXPECT_LT(done, 40u) << "the sweep finished before the interruption; make the study longer";
  if (fs::exists(results / "runs")) {
    for (const auto& entry : fs::recursive_directory_iterator(results / "runs")) {
      EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
      const auto name = entry.path().filename().string();
      EXPECT_FALSE(name.front() == '.' && entry.path().extension() == ".log") << "an interrupted run leaves no log: " << name;
    }
  }
  const auto resumed = run_dmlsim(fmt::format("sweep {} -j 2 --out {}", (out / "long.xml").string(), results.string()));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find(fmt::format("40 runs: {} ran now, {} already done, 0 failed", 40 - done, done)), std::string::npos)
      << resumed.out;
  EXPECT_EQ(finished_runs(results), 40u);
}

namespace {
// A two-run study of the seed's MA scenario (tiny and fast), `rounds` rounds each.
fs::path write_two_run_study(const TempDir& dir, int rounds) {
  write_text(dir / "two.xml", fmt::format(R"(<study name="two" scenario="{}">
  <axis name="eta" set="algorithm.eta" values="0.05 0.1"/>
  <fixed set="training.rounds" value="{}"/>
  <seeds values="1"/>
</study>
)", (source_dir() / "scenarios/seed/ma.xml").string(), rounds));
  return dir / "two.xml";
}
}  // namespace

TEST(StudySweep, AChangedStudyRunsAgainWhatChangedAndSaysSo) {
  TempDir out;
  const auto results = out / "r";
  const auto sweep = [&] { return run_dmlsim(fmt::format("sweep {} -j 2 --out {}", (out / "two.xml").string(), results.string())); };
  write_two_run_study(out, 5);
  ASSERT_EQ(sweep().exit_code, 0);
  const auto unchanged = sweep();
  EXPECT_NE(unchanged.out.find("2 runs: 0 ran now, 2 already done"), std::string::npos) << unchanged.out;
  write_two_run_study(out, 7);
  const auto changed = sweep();
  ASSERT_EQ(changed.exit_code, 0) << changed.out;
  EXPECT_NE(changed.out.find("2 finished run(s) in " + results.string() + " changed since they ran"), std::string::npos) << changed.out;
  EXPECT_NE(changed.out.find("2 runs: 2 ran now, 0 already done"), std::string::npos) << changed.out;
  EXPECT_EQ(nlohmann::json::parse(read_text(results / "runs/eta-0.1_seed-1/summary.json"))["result"]["rounds"], 7);
}

TEST(StudySweep, OneSweepAtATimePerResultsDirectory) {
  TempDir out;
  const auto results = out / "r";
  write_two_run_study(out, 5);
  fs::create_directories(results);
  const auto held = run_dmlsim(fmt::format("--version > /dev/null && flock {}/.lock '{}' sweep {} --out {}", results.string(),
                                           DMLSIM_BINARY, (out / "two.xml").string(), results.string()));
  EXPECT_EQ(held.exit_code, 2) << held.out;
  EXPECT_NE(held.out.find("another sweep is running into " + results.string()), std::string::npos) << held.out;
  EXPECT_FALSE(fs::exists(results / "runs"));
}

TEST(StudySweep, RunsDieWithAKilledSweep) {
  TempDir out;
  const auto results = out / "killed";
  write_text(out / "slow.xml", fmt::format(R"(<study name="slow" scenario="{}">
  <axis name="eta" set="algorithm.eta" values="0.05 0.1"/>
  <fixed set="training.rounds" value="1000000"/>
  <seeds values="1"/>
</study>
)", (source_dir() / "scenarios/seed/ma.xml").string()));
  const std::string sweep = fmt::format("'{}' sweep '{}' -j 2 --out '{}'", DMLSIM_BINARY, (out / "slow.xml").string(), results.string());
  // Start, wait until both runs are running, SIGKILL the sweep (it cannot clean up), look for its runs.
  const std::string script = sweep + " > /dev/null 2>&1 & pid=$!; for i in $(seq 100); do "
                             "[ $(pgrep -f -c -- '[-]-out " + results.string() + "/runs') -ge 2 ] && { echo started; break; }; sleep 0.1; done; "
                             "kill -9 $pid; wait $pid; sleep 0.5; pgrep -f -c -- '[-]-out " + results.string() + "/runs'";
  FILE* pipe = ::popen(script.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[64] = {};
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  ::pclose(pipe);
  EXPECT_EQ(output, "started\n0\n") << "runs of a SIGKILLed sweep must not outlive it";
}
