// Failures on the ring all-reduce (sim/topology/resilient_collective.cpp), through the binary on a full
// mesh the test writes (every pair of hosts on its own link, latency L, bandwidth B) under bare CM02
// with no compute and no headers: the round of a death has its analytic time (the dead member's
// predecessor is the last survivor to be stuck, after K-2 steps of the old ring; it waits the
// timeout; then one round of the ring of K-1), the ring with a dead worker trains the same model as
// the star with the same failure (to 1e-12), a worker that comes back rejoins, summary.json books
// the event, losing every worker is exit 3 with nothing written, a member cut off by a link is left
// out as a dead one would be and comes back with the link, and a round whose closer dies during its
// evaluation closes.
#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace dmlsim::testutil;
namespace fs = std::filesystem;

namespace {

constexpr int kWorkers = 3;
constexpr double kLatency = 0.010;                 // s
constexpr double kBandwidth = 100e6;               // B/s
constexpr double kBytes = 120000 * 8;              // the vector: 120000 simulated parameters (divisible by 2 and 3)
constexpr double kTimeout = 0.5;                   // s

// Server "s" and workers "w0".."w2", every pair on its own full-duplex link.
std::string mesh_platform() {
  std::vector<std::string> hosts = {"s"};
  for (int k = 0; k < kWorkers; ++k) hosts.push_back(fmt::format("w{}", k));
  std::string body, routes;
  for (const auto& h : hosts) body += fmt::format(R"(<host id="{}" speed="1Ef"/>)", h) + "\n";
  for (std::size_t a = 0; a < hosts.size(); ++a)
    for (std::size_t b = a + 1; b < hosts.size(); ++b) {
      const auto link = hosts[a] + "-" + hosts[b];
      body += fmt::format(R"(<link id="{}" bandwidth="100MBps" latency="10ms" sharing_policy="SPLITDUPLEX"/>)", link) + "\n";
      routes += fmt::format(R"(<route src="{0}" dst="{1}" symmetrical="NO"><link_ctn id="{2}" direction="UP"/></route>
<route src="{1}" dst="{0}" symmetrical="NO"><link_ctn id="{2}" direction="DOWN"/></route>
)", hosts[a], hosts[b], link);
    }
  return "<?xml version=\"1.0\"?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
         "<platform version=\"4.1\"><zone id=\"mesh\" routing=\"Full\">\n" + body + routes + "</zone></platform>\n";
}

class RingFailures : public ::testing::Test {
 protected:
  void SetUp() override { write_text(dir_ / "mesh.xml", mesh_platform()); }

  using Run = SavedRun;

  // On `topology` (with <server> for the star), workers w0..w2.
  Run run(const std::string& name, const std::string& topology, int rounds, const std::string& failures,
          const std::string& forward_flops = "0", bool charge_eval = false) {
    const bool with_server = topology == "parameter-server" || name == "server";
    std::string hosts;
    for (int k = 0; k < kWorkers; ++k) hosts += fmt::format("{}w{}", k ? "," : "", k);
    const std::string layout = std::string(with_server ? R"(<server host="s"/>)" : "") +
                               fmt::format(R"(<topology kind="{}"/>)", topology);
    return run_failure_scenario(dir_.path(), name, {"ring-failures", "mesh.xml", hosts, layout, failures, rounds, forward_flops, charge_eval});
  }

  static std::vector<double> column(const fs::path& out, const std::string& name) { return rounds_column(out, name); }

  static nlohmann::json failures(const Run& r) {
    return nlohmann::json::parse(read_text(r.out / "summary.json"))["failures"];
  }

  // Every worker's compute + communication + waiting + down time is the run's simulated time, and
  // worker `down_worker` was down at least `at_least` seconds (the others never).
  static void expect_time_adds_up(const Run& r, int down_worker, double at_least) {
    const auto summary = nlohmann::json::parse(read_text(r.out / "summary.json"));
    const double sim_time = summary["result"]["sim_time"].get<double>();
    for (const auto& w : summary["time_breakdown"]["workers"]) {
      const double sum = w["compute_time"].get<double>() + w["comm_time"].get<double>() +
                         w["wait_time"].get<double>() + w["down_time"].get<double>();
      EXPECT_NEAR(sum, sim_time, 1e-9) << w.dump();
      if (w["worker"] == down_worker)
        EXPECT_GE(w["down_time"].get<double>(), at_least - 1e-9) << w.dump();
      else
        EXPECT_EQ(w["down_time"].get<double>(), 0.0) << w.dump();
    }
    EXPECT_GT(summary["time_breakdown"]["mean_down_time"].get<double>(), 0.0);
  }

  // One step of a ring of n: latency plus a chunk of S/n bytes.
  static double step(int n) { return kLatency + kBytes / n / kBandwidth; }

  TempDir dir_;
};

TEST_F(RingFailures, TheRoundOfADeathLastsStepsToTheStallTimeoutAndARoundOfTheSmallerRing) {
  const auto r = run("analytic", "ring-allreduce", 6,
                     fmt::format(R"(<failures timeout="{}s"><host name="w2" round="3"/></failures>)", kTimeout));
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto time = column(r.out, "sim_time");
  ASSERT_EQ(time.size(), 7u);
  const double full_round = 2 * (kWorkers - 1) * step(kWorkers);
  const double survivors_round = 2 * (kWorkers - 2) * step(kWorkers - 1);
  EXPECT_NEAR(time[2] - time[1], full_round, 1e-9);
  // w1, w2's predecessor, is stuck after K-2 = 1 step; it waits the timeout; the ring of w0, w1 runs.
  EXPECT_NEAR(time[3] - time[2], (kWorkers - 2) * step(kWorkers) + kTimeout + survivors_round, 1e-9);
  EXPECT_NEAR(time[4] - time[3], survivors_round, 1e-9);
  EXPECT_EQ(column(r.out, "participants"), (std::vector<double>{3, 3, 3, 2, 2, 2, 2}));
  const auto f = failures(r);
  ASSERT_EQ(f["events"].size(), 1u);
  EXPECT_EQ(f["events"][0]["target"], "w2");
  EXPECT_EQ(f["events"][0]["round"], 3);
  EXPECT_EQ(f["events"][0]["rounds_cost"], 4);
  EXPECT_EQ(f["events"][0]["workers"], nlohmann::json::array({2}));
  EXPECT_EQ(f["workers_out_at_end"], nlohmann::json::array({2}));
  EXPECT_GT(f["events"][0]["rows_missed"].get<int>(), 0);
  // w2 is down from its last booked instant (it died as round 3 started) to the end.
  expect_time_adds_up(r, 2, time.back() - time[2]);
}

TEST_F(RingFailures, TheRingWithADeadWorkerTrainsTheStarsModel) {
  for (const std::string when : {R"(round="3")", R"(round="3" for="0.3s")"}) {
    const auto failure = fmt::format(R"(<failures timeout="{}s"><host name="w1" {}/></failures>)", kTimeout, when);
    const auto ring = run("ring", "ring-allreduce", 12, failure);
    const auto star = run("star", "parameter-server", 12, failure);
    ASSERT_EQ(ring.result.exit_code, 0) << ring.result.out;
    ASSERT_EQ(star.result.exit_code, 0) << star.result.out;
    const auto participants = column(ring.out, "participants");
    ASSERT_EQ(participants, column(star.out, "participants")) << when;
    EXPECT_EQ(participants[3], 2) << when;
    const dmlsim::Vector a = read_weights(ring.out / "weights.csv");
    const dmlsim::Vector b = read_weights(star.out / "weights.csv");
    ASSERT_EQ(a.size(), b.size());
    EXPECT_LE((a - b).cwiseAbs().maxCoeff(), 1e-12 * std::max(1.0, b.cwiseAbs().maxCoeff())) << when;
  }
}

TEST_F(RingFailures, AWorkerThatComesBackRejoinsAtTheNextRound) {
  const auto r = run("rejoin", "ring-allreduce", 20,
                     fmt::format(R"(<failures timeout="{}s"><host name="w0" round="3" for="0.2s"/></failures>)", kTimeout));
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto participants = column(r.out, "participants");
  EXPECT_EQ(participants[3], 2);
  EXPECT_EQ(participants.back(), 3);
  const auto f = failures(r);
  EXPECT_FALSE(f["events"][0]["up_at"].is_null());
  EXPECT_TRUE(f["workers_out_at_end"].empty());
  EXPECT_EQ(f["events"][0]["rounds_cost"].get<int>(), f["missed_per_worker"][0].get<int>());
  expect_time_adds_up(r, 0, 0.2);
}

// The member that closes a round evaluates the model on its host (charge-eval). Whichever member's
// host goes down in the middle of round 3's evaluation, the round closes: a member whose part went
// through counts, and when it was the closer another member evaluates again from the failure on.
TEST_F(RingFailures, ARoundWhoseCloserDiesDuringTheEvaluationClosesWithAnotherMember) {
  const auto plain = run("eval", "ring-allreduce", 6, "", "1e14", true);
  ASSERT_EQ(plain.result.exit_code, 0) << plain.result.out;
  const auto time = column(plain.out, "sim_time");
  const double evaluation = time[0];  // round 0 is the initial model's evaluation alone
  ASSERT_GT(evaluation, 0.0);
  const double death = time[3] - evaluation / 2;
  int closers = 0;
  for (int k = 0; k < kWorkers; ++k) {
    const auto r = run(fmt::format("eval-{}", k), "ring-allreduce", 6,
                       fmt::format(R"(<failures timeout="{}s"><host name="w{}" at="{}s"/></failures>)", kTimeout, k, death),
                       "1e14", true);
    ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
    EXPECT_EQ(column(r.out, "participants"), (std::vector<double>{3, 3, 3, 3, 2, 2, 2})) << k;
    const double round3 = column(r.out, "sim_time")[3];
    if (std::abs(round3 - time[3]) > 1e-9) {
      ++closers;
      EXPECT_NEAR(round3, death + evaluation, 1e-9) << k;
    }
  }
  EXPECT_EQ(closers, 1);
}

// The same with evaluations by simulated time, every 100 ms: each of rounds 1-3 ends past the next
// one due (the rounds take longer), and round 3's closer dies before the one after it is due. The
// member that takes over records round 3's row, which the closer never did.
TEST_F(RingFailures, ATakeoverRecordsTheEvaluationDueByTimeThatItsCloserDidNot) {
  const auto plain = run("eval-time", "ring-allreduce", 6, "", "1e14", true);
  ASSERT_EQ(plain.result.exit_code, 0) << plain.result.out;
  const auto time = column(plain.out, "sim_time");
  const double evaluation = time[0];
  const double death = time[3] - evaluation / 2;
  ASSERT_GT(time[1] - evaluation, 0.1);
  ASSERT_LT(death, 0.4);
  for (int k = 0; k < kWorkers; ++k) {
    const auto name = fmt::format("eval-time-{}", k);
    run(name, "ring-allreduce", 6,
        fmt::format(R"(<failures timeout="{}s"><host name="w{}" at="{}s"/></failures>)", kTimeout, k, death), "1e14", true);
    const auto out = dir_ / ("by-time-" + name);
    const auto r = run_dmlsim(fmt::format("run {} -q --set report.eval-every-time=100ms -o {}",
                                          (dir_ / (name + ".xml")).string(), out.string()));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const auto rounds = column(out, "round");
    ASSERT_GE(rounds.size(), 4u) << k;
    EXPECT_EQ(std::vector<double>(rounds.begin(), rounds.begin() + 4), (std::vector<double>{0, 1, 2, 3})) << k;
    EXPECT_EQ(rounds.back(), 6) << k;
  }
}

TEST_F(RingFailures, RandomFailuresWithRepairsRerunIdentically) {
  const auto failure = R"(<failures timeout="0.2s"><random mtbf="1s" mttr="0.3s"/></failures>)";
  const auto a = run("random-a", "ring-allreduce", 60, failure);
  const auto b = run("random-b", "ring-allreduce", 60, failure);
  ASSERT_EQ(a.result.exit_code, 0) << a.result.out;
  ASSERT_EQ(b.result.exit_code, 0) << b.result.out;
  EXPECT_EQ(read_text(a.out / "rounds.csv"), read_text(b.out / "rounds.csv"));
  EXPECT_EQ(failures(a).dump(), failures(b).dump());
  EXPECT_GE(failures(a)["events"].size(), 2u);
}

TEST_F(RingFailures, LosingEveryWorkerIsExit3WithNothingWritten) {
  // w0 goes down in round 2; the other two while they wait for it.
  const auto r = run("all", "ring-allreduce", 50, R"(<failures timeout="0.2s">
    <host name="w0" at="60ms"/><host name="w1" at="70ms"/><host name="w2" at="70ms"/></failures>)");
  EXPECT_EQ(r.result.exit_code, 3) << r.result.out;
  EXPECT_NE(r.result.out.find("every worker went down"), std::string::npos) << r.result.out;
  EXPECT_FALSE(fs::exists(r.out));
}

// The ring has no server: a <server> in the scenario changes nothing, and its host runs nothing.
TEST_F(RingFailures, AServerHostNamedByTheScenarioIsNoServerOnTheRing) {
  const auto r = run("server", "ring-allreduce", 5, R"(<failures timeout="1s"><host name="s" at="1ms"/></failures>)");
  EXPECT_EQ(r.result.exit_code, 2) << r.result.out;
  EXPECT_NE(r.result.out.find("host 's' runs neither a worker nor the server"), std::string::npos) << r.result.out;
}

// Link w0-w1 goes down for good as round 3 starts. w0's sends to w1 fail at once, and so does w1's
// receive: w1 finds w0 and itself cut off, and the best connected group, w2 then w0 (w0 and w1 reach
// one other member each: worker order decides), goes on without it. w2, which got w1's first chunk
// a step in, waits the timeout for the second; w0, which got w2's first two chunks, for the third;
// then the ring of w0 and w2 runs. w1 is left out as if it were dead: the same model as the ring
// whose w1 dies as round 3 starts.
TEST_F(RingFailures, AMemberCutOffByALinkIsLeftOutAsIfItWereDead) {
  const auto r = run("cut", "ring-allreduce", 8,
                     fmt::format(R"(<failures timeout="{}s"><link name="w0-w1" round="3"/></failures>)", kTimeout));
  ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
  const auto time = column(r.out, "sim_time");
  ASSERT_EQ(time.size(), 9u);
  const double survivors_round = 2 * step(kWorkers - 1);
  EXPECT_NEAR(time[3] - time[2], 2 * step(kWorkers) + kTimeout + survivors_round, 1e-9);
  EXPECT_NEAR(time[4] - time[3], survivors_round, 1e-9);
  EXPECT_EQ(column(r.out, "participants"), (std::vector<double>{3, 3, 3, 2, 2, 2, 2, 2, 2}));
  const auto f = failures(r);
  ASSERT_EQ(f["events"].size(), 1u);
  EXPECT_EQ(f["events"][0]["source"], "link");
  EXPECT_EQ(f["events"][0]["workers"], nlohmann::json::array({0, 1}));
  EXPECT_EQ(f["events"][0]["rounds_cost"], 6);
  EXPECT_EQ(f["missed_per_worker"], nlohmann::json::array({0, 6, 0}));
  EXPECT_EQ(f["workers_out_at_end"], nlohmann::json::array({1}));

  const auto dead = run("dead", "ring-allreduce", 8,
                        fmt::format(R"(<failures timeout="{}s"><host name="w1" round="3"/></failures>)", kTimeout));
  ASSERT_EQ(dead.result.exit_code, 0) << dead.result.out;
  const dmlsim::Vector a = read_weights(r.out / "weights.csv");
  const dmlsim::Vector b = read_weights(dead.out / "weights.csv");
  EXPECT_LE((a - b).cwiseAbs().maxCoeff(), 1e-12 * std::max(1.0, b.cwiseAbs().maxCoeff()));
}

// A link back up takes the member back at the next round, whether it was down for rounds or for a
// millisecond in the middle of one (the transfers in flight failed: the round is done again).
TEST_F(RingFailures, AMemberCutOffByALinkComesBackWithTheLink) {
  for (const std::string when : {R"(round="3" for="0.3s")", R"(at="75ms" for="1ms")"}) {
    const auto r = run("back", "ring-allreduce", 10,
                       fmt::format(R"(<failures timeout="{}s"><link name="w0-w1" {}/></failures>)", kTimeout, when));
    ASSERT_EQ(r.result.exit_code, 0) << r.result.out;
    const auto participants = column(r.out, "participants");
    EXPECT_EQ(std::count(participants.begin(), participants.end(), 2.0), 1) << when;
    EXPECT_EQ(participants.back(), 3) << when;
    const auto f = failures(r);
    EXPECT_FALSE(f["events"][0]["up_at"].is_null()) << when;
    EXPECT_EQ(f["events"][0]["rounds_cost"], 1) << when;
  }
}

TEST_F(RingFailures, RandomHostFailuresWithALinkFailureRerunIdentically) {
  const auto failure = R"(<failures timeout="0.2s"><random mtbf="1s" mttr="0.3s"/>
    <link name="w1-w2" at="0.2s" for="0.5s"/></failures>)";
  const auto a = run("random-link-a", "ring-allreduce", 60, failure);
  const auto b = run("random-link-b", "ring-allreduce", 60, failure);
  ASSERT_EQ(a.result.exit_code, 0) << a.result.out;
  ASSERT_EQ(b.result.exit_code, 0) << b.result.out;
  EXPECT_EQ(read_text(a.out / "rounds.csv"), read_text(b.out / "rounds.csv"));
  EXPECT_EQ(read_text(a.out / "weights.csv"), read_text(b.out / "weights.csv"));
  EXPECT_EQ(failures(a).dump(), failures(b).dump());
}

}  // namespace
