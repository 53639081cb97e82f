// Time-to-accuracy tables on hand-made results directories with known answers.
#include "study/table.hpp"
#include "test_util.hpp"

#include <cmath>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sstream>

using namespace dmlsim::testutil;
using namespace dmlsim::study;
namespace fs = std::filesystem;

namespace {

// rounds.csv with rounds 0..8 at 1 s per round (times `scale`), 100 bytes per round of which 30
// between zones; accuracy 0.5
// before `hit` (never if hit < 0), 0.9 from `hit` on, `final` at round 8.
std::string rounds_csv(int hit, double final, double scale) {
  std::string out =
      "round,sim_time,test_accuracy,test_loss,train_loss,bytes_sent,messages_sent,bytes_intra_zone,bytes_inter_zone\n";
  for (int r = 0; r <= 8; ++r) {
    const double accuracy = r == 8 ? final : (hit >= 0 && r >= hit ? 0.9 : 0.5);
    out += fmt::format("{},{},{},0.5,0.5,{},{},{},{}\n", r, r * scale, accuracy, 100 * r, 2 * r, 70 * r, 30 * r);
  }
  return out;
}

std::string summary_json(double final, double compute) {
  return fmt::format(R"({{"network": {{"model": "CM02", "config": {{"network/model": "CM02", "network/TCP-gamma": "0"}}}},
  "result": {{"final_accuracy": {}}},
  "time_to_accuracy": {{"curve": "raw", "targets": [{{"target": 0.9}}, {{"target": 0.75}}]}},
  "time_breakdown": {{"mean_compute_time": {}, "mean_comm_time": 2.0, "mean_wait_time": 1.0, "comm_compute_ratio": {}}}}})",
                     final, compute, 2.0 / compute);
}

// algorithm {a, b} x lat {fast, slow} x seeds 1-3. Times to 0.9 (s):
//   a fast: 2 4 6            a slow: 20 40 60
//   b fast: 1 3 never        b slow: 10, not run, failed
struct Fixture {
  TempDir dir;
  Fixture() {
    write_text(dir / "study.json", R"({"name": "hand", "study_file": "/x/hand.xml", "axes": [
      {"name": "algorithm", "kind": "scenario", "values": ["a", "b"]},
      {"name": "lat", "kind": "link", "pattern": "wan-*", "property": "latency", "values": ["fast", "slow"],
       "numeric_values": [0.001, 0.05]}], "seeds": [1, 2, 3]})");
    std::string manifest = "run_id,algorithm,lat,seed,run_dir\n";
    const auto add = [&](const std::string& algorithm, const std::string& lat, int seed) {
      const auto id = fmt::format("algorithm-{}_lat-{}_seed-{}", algorithm, lat, seed);
      manifest += fmt::format("{},{},{},{},runs/{}\n", id, algorithm, lat, seed, id);
      return dir / "runs" / id;
    };
    const double finals_a[] = {0.91, 0.92, 0.96};
    for (const char* lat : {"fast", "slow"}) {
      const double scale = std::string(lat) == "fast" ? 1.0 : 10.0;
      for (int seed = 1; seed <= 3; ++seed) {
        const auto run = add("a", lat, seed);
        write_text(run / "rounds.csv", rounds_csv(2 * seed, finals_a[seed - 1], scale));
        write_text(run / "summary.json", summary_json(finals_a[seed - 1], seed));
      }
    }
    const int hits_b[] = {1, 3, -1};
    for (int seed = 1; seed <= 3; ++seed) {
      const auto run = add("b", "fast", seed);
      const double final = hits_b[seed - 1] < 0 ? 0.85 : 0.95;
      write_text(run / "rounds.csv", rounds_csv(hits_b[seed - 1], final, 1.0));
      write_text(run / "summary.json", summary_json(final, 1.0));
    }
    const auto b1 = add("b", "slow", 1);
    write_text(b1 / "rounds.csv", rounds_csv(1, 0.95, 10.0));
    write_text(b1 / "summary.json", summary_json(0.95, 1.0));
    add("b", "slow", 2);  // not run: no directory
    const auto b3 = add("b", "slow", 3);
    write_text(b3 / "run.log", "dmlsim: x.xml: the model diverged at round 1\n");
    write_text(b3 / "error.txt", "exit code 3\ndmlsim: x.xml: the model diverged at round 1\n");
    write_text(dir / "manifest.csv", manifest);
  }
};

Table table(const Fixture& f, TableOptions options) { return build_table(read_results(f.dir.path()), options); }

}  // namespace

TEST(StudyStatistics, MedianAndMeanStd) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({7}), 7);
  EXPECT_THROW(median({}), std::invalid_argument);
  const auto s = mean_std({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  ASSERT_TRUE(s.std);
  EXPECT_NEAR(*s.std, std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_FALSE(mean_std({5}).std);
  EXPECT_FALSE(parse_smoothing("raw"));
  EXPECT_DOUBLE_EQ(*parse_smoothing("ewma"), 0.9);
  EXPECT_DOUBLE_EQ(*parse_smoothing("ewma:0.5"), 0.5);
  EXPECT_THROW(parse_smoothing("ewma:1.5"), std::invalid_argument);
  EXPECT_THROW(parse_smoothing("loess"), std::invalid_argument);
}

TEST(StudyTable, MediansReachedCountsAndSpeedups) {
  Fixture f;
  TableOptions options;
  options.baseline = "algorithm=a";
  options.breakdown = true;
  const auto t = table(f, options);
  EXPECT_EQ(t.targets, (std::vector<double>{0.9, 0.75}));  // from the summaries
  EXPECT_EQ(t.by, (std::vector<std::string>{"algorithm", "lat"}));
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_EQ(t.rows[0].key, (std::vector<std::string>{"a", "fast"}));
  EXPECT_EQ(t.rows[1].key, (std::vector<std::string>{"a", "slow"}));
  EXPECT_EQ(t.rows[2].key, (std::vector<std::string>{"b", "fast"}));

  const auto& a_fast = t.rows[0].targets[0];
  EXPECT_EQ(a_fast.reached, 3u);
  EXPECT_EQ(a_fast.runs, 3u);
  EXPECT_DOUBLE_EQ(*a_fast.median_time, 4);
  EXPECT_DOUBLE_EQ(*a_fast.min_time, 2);
  EXPECT_DOUBLE_EQ(*a_fast.max_time, 6);
  EXPECT_DOUBLE_EQ(*a_fast.median_rounds, 4);
  EXPECT_DOUBLE_EQ(*a_fast.median_bytes, 400);
  EXPECT_DOUBLE_EQ(*a_fast.median_wan_bytes, 120);
  EXPECT_DOUBLE_EQ(*a_fast.speedup, 1);
  EXPECT_NEAR(t.rows[0].final_accuracy->mean, 0.93, 1e-12);
  EXPECT_NEAR(*t.rows[0].final_accuracy->std, std::sqrt(7e-4), 1e-12);
  EXPECT_DOUBLE_EQ(*t.rows[0].compute_time, 2);  // mean of 1, 2, 3
  EXPECT_DOUBLE_EQ(*t.rows[0].comm_time, 2);
  EXPECT_DOUBLE_EQ(*t.rows[0].wait_time, 1);
  EXPECT_NEAR(*t.rows[0].comm_compute_ratio, (2.0 + 1.0 + 2.0 / 3.0) / 3.0, 1e-12);

  // b fast: 1, 3 and a seed that never reaches 0.9: median over the two, counted as 2/3.
  const auto& b_fast = t.rows[2].targets[0];
  EXPECT_EQ(b_fast.reached, 2u);
  EXPECT_EQ(b_fast.runs, 3u);
  EXPECT_DOUBLE_EQ(*b_fast.median_time, 2);
  EXPECT_DOUBLE_EQ(*b_fast.speedup, 2);  // 4 / 2, against a at the same latency
  // b slow: one reached (10 s), one failed (counts as not reached), one not run (not counted).
  const auto& b_slow = t.rows[3];
  EXPECT_EQ(b_slow.runs, 1u);
  EXPECT_EQ(b_slow.failed, 1u);
  EXPECT_EQ(b_slow.total, 3u);
  EXPECT_EQ(b_slow.targets[0].reached, 1u);
  EXPECT_EQ(b_slow.targets[0].runs, 2u);
  EXPECT_DOUBLE_EQ(*b_slow.targets[0].speedup, 4);  // 40 / 10
  ASSERT_EQ(t.missing.size(), 2u);
  EXPECT_EQ(t.missing[0].first, "algorithm-b_lat-slow_seed-2");
  EXPECT_EQ(t.missing[0].second, "not run");
  EXPECT_EQ(t.missing[1].second, "failed: exit code 3: dmlsim: x.xml: the model diverged at round 1");
  EXPECT_EQ(t.networks, (std::vector<std::string>{"CM02 (network/TCP-gamma=0)"}));

  const auto md = format_table(t, "md");
  EXPECT_NE(md.find("on the raw test-accuracy curve"), std::string::npos) << md;
  EXPECT_NE(md.find("network: CM02 (network/TCP-gamma=0)"), std::string::npos) << md;
  EXPECT_NE(md.find("| algorithm | lat | runs | time to 0.9 (s) | rounds to 0.9 | bytes to 0.9 (B) | reached 0.9 | speedup at 0.9 (×) |"),
            std::string::npos) << md;
  EXPECT_NE(md.find("| a | fast | 3 | 4.000 (2.000–6.000) | 4 | 400 | 3/3 | 1.00 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| b | slow | 1 + 1 failed (1 not run) | 10.00 (10.00–10.00) | 1 | 100 | 1/2 | 4.00 |"), std::string::npos) << md;
  EXPECT_NE(md.find("0.9300 ± 0.0265"), std::string::npos) << md;
  EXPECT_NE(md.find("- algorithm-b_lat-slow_seed-2: not run"), std::string::npos) << md;

  const auto csv = format_table(t, "csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "algorithm,lat,runs,runs_failed,runs_total,"
            "t0.9_reached,t0.9_time_median_s,t0.9_time_min_s,t0.9_time_max_s,t0.9_rounds_median,t0.9_bytes_median_B,t0.9_speedup,"
            "t0.75_reached,t0.75_time_median_s,t0.75_time_min_s,t0.75_time_max_s,t0.75_rounds_median,t0.75_bytes_median_B,t0.75_speedup,"
            "final_accuracy_mean,final_accuracy_std,sim_time_median_s,compute_time_s,comm_time_s,wait_time_s,comm_compute_ratio,curve");
  // At 0.75 the third b seed counts: its final evaluation (0.85, round 8) is above it.
  EXPECT_NE(csv.find("\nb,fast,3,0,3,2,2,1,3,2,200,2,3,3,1,8,3,300,1.3333333333333333,0.9166666666666666,0.05773502691896257,8,1,2,1,2,raw\n"),
            std::string::npos) << csv;

  const auto tex = format_table(t, "tex");
  EXPECT_NE(tex.find("\\toprule"), std::string::npos);
  EXPECT_NE(tex.find("a & fast & 3 & 4.000 (2.000--6.000) & 4 & 400 & 3/3 & 1.00 & "), std::string::npos) << tex;
  // The run's simulated time: the median of the seeds' last evaluations (8 rounds of 1 s).
  EXPECT_NE(tex.find(" & 0.9300 $\\pm$ 0.0265 & 8.000 & 2 & 2 & 1 & 1.222 \\\\\n"), std::string::npos) << tex;
}

TEST(StudyTable, GroupingTargetsAndSmoothing) {
  Fixture f;
  TableOptions options;
  options.by = std::vector<std::string>{"algorithm"};
  options.targets = {0.9};
  auto t = table(f, options);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].targets[0].reached, 6u);
  EXPECT_DOUBLE_EQ(*t.rows[0].targets[0].median_time, 13);  // 2 4 6 20 40 60
  EXPECT_EQ(t.rows[1].runs, 4u);
  EXPECT_EQ(t.rows[1].targets[0].runs, 5u);  // 4 finished + 1 failed

  options.by = std::vector<std::string>{"none"};
  EXPECT_EQ(table(f, options).rows.size(), 1u);
  options.by = std::vector<std::string>{"seed"};
  EXPECT_EQ(table(f, options).rows.size(), 3u);

  // EWMA alpha 0.5: 0.5 0.5 0.7 0.8 … reaches 0.75 one evaluation after the raw curve does.
  options.by = std::nullopt;
  options.targets = {0.75};
  const auto raw = table(f, options);
  EXPECT_DOUBLE_EQ(*raw.rows[0].targets[0].median_time, 4);
  options.ewma_alpha = 0.5;
  const auto smooth = table(f, options);
  EXPECT_DOUBLE_EQ(*smooth.rows[0].targets[0].median_time, 5);
  EXPECT_NE(format_table(smooth, "md").find("EWMA-smoothed test-accuracy curve (alpha 0.5)"), std::string::npos);
  EXPECT_NE(format_table(smooth, "csv").find(",ewma:0.5\n"), std::string::npos);
}

TEST(StudyTable, BadOptionsAndDirectories) {
  Fixture f;
  TableOptions options;
  options.by = std::vector<std::string>{"colour"};
  EXPECT_THROW(table(f, options), std::invalid_argument);
  options.by = std::vector<std::string>{"lat"};
  options.baseline = "algorithm=a";
  EXPECT_THROW(table(f, options), std::invalid_argument);  // not a --by axis
  options.by = std::nullopt;
  options.baseline = "algorithm=zz";
  EXPECT_THROW(table(f, options), std::invalid_argument);
  options.baseline = "algorithm";
  EXPECT_THROW(table(f, options), std::invalid_argument);
  EXPECT_THROW(format_table(table(f, {}), "html"), std::invalid_argument);
  options.baseline.clear();
  for (double percent : {95.0, 0.0, -0.5}) {
    options.targets = {percent};
    EXPECT_THROW(table(f, options), std::invalid_argument) << percent;
  }
  options.targets = {95};
  try {
    table(f, options);
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "--target 95: a target is an accuracy in (0, 1] (for 95 %, give 0.95)");
  }
  TempDir empty;
  EXPECT_THROW(read_results(empty.path()), std::runtime_error);
  EXPECT_THROW(parse_rounds_csv("round,sim_time\n", "r.csv"), std::runtime_error);
}

TEST(StudyTable, WanBytesColumnOnRequest) {
  Fixture f;
  TableOptions options;
  options.targets = {0.9};
  EXPECT_EQ(format_table(table(f, options), "md").find("WAN bytes"), std::string::npos);
  options.wan_bytes = true;
  const auto md = format_table(table(f, options), "md");
  EXPECT_NE(md.find("| bytes to 0.9 (B) | WAN bytes to 0.9 (B) | reached 0.9 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 400 | 120 |"), std::string::npos) << md;
  EXPECT_NE(format_table(table(f, options), "csv").find("t0.9_bytes_median_B,t0.9_wan_bytes_median_B"), std::string::npos);
}

// Axes whose values are numbers or quantities: the unit in the header, numbers in the cells, rows in
// numeric order whatever the study's order; other axes keep their labels and the study's order.
TEST(StudyTable, NumericAxesShowNumbersWithTheirUnitInNumericOrder) {
  EXPECT_EQ(axis_scale({"100ms", "0.05ms", "10ms"}).unit, "ms");
  EXPECT_EQ(axis_scale({"100ms", "0.05ms", "10ms"}).values, (std::vector<double>{100, 0.05, 10}));
  EXPECT_EQ(axis_scale({"500us", "1ms"}).unit, "s");
  EXPECT_EQ(axis_scale({"500us", "1ms"}).values, (std::vector<double>{5e-4, 1e-3}));
  EXPECT_EQ(axis_scale({"500us", "1ms"}).shown, (std::vector<std::string>{"0.0005", "0.001"}));
  EXPECT_EQ(axis_scale({"0.05ms", "1ms"}).shown, (std::vector<std::string>{"0.05", "1"}));
  EXPECT_EQ(axis_scale({"0.10", "1e306"}).shown, (std::vector<std::string>{"0.10", "1e306"})) << "as written";
  EXPECT_EQ(axis_scale({"1Gbps", "10Gbps"}).unit, "Gbps");
  EXPECT_EQ(axis_scale({"8", "16", "4"}).unit, "");
  EXPECT_TRUE(axis_scale({"8", "16", "4"}).numeric);
  EXPECT_FALSE(axis_scale({"lan", "wan-geo"}).numeric);
  EXPECT_FALSE(axis_scale({"1ms", "fast"}).numeric);

  TempDir dir;
  write_text(dir / "study.json", R"({"name": "num", "axes": [{"name": "wan-latency", "values": ["100ms", "2ms", "10ms"]},
    {"name": "workers", "values": ["16", "4"]}], "seeds": [1]})");
  std::string manifest = "run_id,wan-latency,workers,seed,run_dir\n";
  for (const char* latency : {"100ms", "2ms", "10ms"})
    for (const char* workers : {"16", "4"}) {
      const auto id = fmt::format("l{}_w{}", latency, workers);
      manifest += fmt::format("{},{},{},1,runs/{}\n", id, latency, workers, id);
      write_text(dir / "runs" / id / "rounds.csv", rounds_csv(1, 0.95, 1.0));
      write_text(dir / "runs" / id / "summary.json", summary_json(0.95, 1.0));
    }
  write_text(dir / "manifest.csv", manifest);
  TableOptions options;
  options.targets = {0.9};
  const auto t = build_table(read_results(dir.path()), options);
  const auto md = format_table(t, "md");
  EXPECT_NE(md.find("| wan-latency (ms) | workers | runs |"), std::string::npos) << md;
  const auto first_cells = [](const std::string& text, const std::string& row_start) {
    std::vector<std::string> rows;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind(row_start, 0) == 0) rows.push_back(line.substr(0, line.find(" | ", line.find(" | ") + 3)));
    return rows;
  };
  EXPECT_EQ(first_cells(md, "| "), (std::vector<std::string>{"| wan-latency (ms) | workers", "| 2 | 4", "| 2 | 16", "| 10 | 4",
                                                             "| 10 | 16", "| 100 | 4", "| 100 | 16"})) << md;
  const auto csv = format_table(t, "csv");
  EXPECT_EQ(csv.substr(0, csv.find(",runs,")), "wan-latency_ms,workers");
  EXPECT_NE(csv.find("\n2,4,1,"), std::string::npos) << csv;
}
