// Decentralized training (D-PSGD): graphs and Metropolis–Hastings weights, edge lists, the
// identities (combine-then-adapt on the complete graph = SSGD with batch means; one worker =
// sequential SGD) through the sequential driver and the simulator, the simulator's Lian order
// against the lockstep schedule, consensus distance in the outputs, byte-identical reruns, bad input.
#include "algorithms/decentralized.hpp"
#include "algorithms/gossip_graph.hpp"
#include "algorithms/registry.hpp"
#include "experiment/sequential_driver.hpp"
#include "test_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace dmlsim;
using namespace dmlsim::testutil;

namespace {

// Every host on its own link to a switch: a route between two hosts crosses both their links. The
// last worker is slower and further away.
std::string switch_platform(int workers) {
  std::vector<std::string> names{"server"};
  for (int k = 0; k < workers; ++k) names.push_back(fmt::format("w{}", k));
  std::string hosts, routes;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const bool slow = i == names.size() - 1 && workers > 1;
    hosts += fmt::format(R"(<host id="{0}" speed="{1}"/><link id="l{0}" bandwidth="100MBps" latency="{2}"/>)", names[i],
                         slow ? "1Mf" : "3Mf", slow ? "20ms" : "5ms");
    for (std::size_t j = i + 1; j < names.size(); ++j)
      routes += fmt::format(R"(<route src="{0}" dst="{1}"><link_ctn id="l{0}"/><link_ctn id="l{1}"/></route>)", names[i],
                            names[j]);
  }
  return testutil::full_zone_platform(hosts + routes, "switched");
}

std::filesystem::path write_scenario(const TempDir& dir, int workers, const std::string& algorithm,
                                     const std::string& topology, int rounds) {
  return testutil::write_host_scenario(
      dir.path(), {"gossip", 2, workers, switch_platform(workers),
                   fmt::format("{}\n  {}\n  <training rounds=\"{}\"/>", topology, algorithm, rounds)});
}

testutil::CommandResult run(const std::filesystem::path& scenario, const std::filesystem::path& out,
                            const std::string& extra = "") {
  return testutil::run_dmlsim(fmt::format("run {} -q --save-weights {} --out {}", scenario.string(), extra, out.string()));
}

double row_sum(const MixingRow& row) {
  double sum = 0;
  for (const auto& e : row) sum += e.weight;
  return sum;
}

}  // namespace

TEST(GossipGraph, RingTorusAndCompleteHaveTheirDegrees) {
  const auto ring = ring_graph(6);
  EXPECT_EQ(ring.neighbours[0], (std::vector<int>{1, 5}));
  EXPECT_EQ(ring_graph(2).neighbours[0], std::vector<int>{1});  // both sides are the same worker
  EXPECT_TRUE(ring_graph(1).neighbours[0].empty());
  const auto torus = torus_graph(12);  // 3 x 4
  EXPECT_EQ(torus.neighbours[0], (std::vector<int>{1, 3, 4, 8}));
  EXPECT_EQ(torus.neighbours[5], (std::vector<int>{1, 4, 6, 9}));
  EXPECT_EQ(torus_graph(7).neighbours, ring_graph(7).neighbours);  // a prime K: 1 x K
  const auto complete = complete_graph(5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(complete.degree(i), 4);
  EXPECT_EQ(mixing_order(ring, 0), (std::vector<int>{0, 1, 5}));
}

TEST(GossipGraph, MetropolisWeightsAreSymmetricAndDoublyStochastic) {
  // A star with a tail: degrees differ, so the weights do too.
  const auto graph = graph_from_edges(5, {{0, 1}, {0, 2}, {0, 3}, {3, 4}});
  const auto w = metropolis_weights(graph);
  std::vector<std::vector<double>> dense(5, std::vector<double>(5, 0.0));
  for (int i = 0; i < 5; ++i)
    for (const auto& e : w[static_cast<std::size_t>(i)]) dense[static_cast<std::size_t>(i)][static_cast<std::size_t>(e.node)] = e.weight;
  for (int i = 0; i < 5; ++i) {
    double column = 0;
    for (int j = 0; j < 5; ++j) {
      EXPECT_EQ(dense[i][j], dense[j][i]) << i << "," << j;
      column += dense[j][i];
    }
    EXPECT_NEAR(row_sum(w[static_cast<std::size_t>(i)]), 1.0, 1e-15);
    EXPECT_NEAR(column, 1.0, 1e-15);
  }
  EXPECT_DOUBLE_EQ(dense[0][1], 1.0 / 4.0);  // 1 / (1 + max(3, 1))
  EXPECT_DOUBLE_EQ(dense[3][4], 1.0 / 3.0);  // 1 / (1 + max(2, 1))
  for (const auto& e : metropolis_row(complete_graph(4), 2)) EXPECT_EQ(e.weight, 0.25);  // uniform
}

TEST(GossipGraph, EdgeListsAreCheckedLineByLine) {
  EXPECT_EQ(parse_edge_list("# a ring of 3\n0 1\n\n1 2  # second\n2 0\n", 3),
            (std::vector<Edge>{{0, 1}, {1, 2}, {2, 0}}));
  const auto line_of = [](const std::string& text, int nodes) {
    try {
      parse_edge_list(text, nodes);
    } catch (const EdgeListError& e) {
      return std::make_pair(e.line, std::string(e.what()));
    }
    return std::make_pair(0, std::string());
  };
  EXPECT_EQ(line_of("0 1\n1 4\n", 4).first, 2);
  EXPECT_NE(line_of("0 1\n1 4\n", 4).second.find("'4' is not a worker"), std::string::npos);
  EXPECT_EQ(line_of("0 1\n\n2\n", 4).first, 3);
  EXPECT_EQ(line_of("0 x\n", 4).first, 1);
  EXPECT_EQ(line_of("0 -1\n", 4).first, 1);
  EXPECT_NE(line_of("1 1\n", 4).second.find("itself"), std::string::npos);
  EXPECT_EQ(unreachable_nodes(graph_from_edges(4, {{0, 1}, {2, 3}})), (std::vector<int>{2, 3}));
  EXPECT_TRUE(unreachable_nodes(ring_graph(5)).empty());
}

TEST(GossipIdentity, CombineThenAdaptOnTheCompleteGraphIsSsgdWithBatchMeans) {
  const auto ssgd = trajectory(standardized_seed_experiment({}));
  const auto dpsgd = trajectory(standardized_seed_experiment(
      {"algorithm.name=dpsgd", "algorithm.variant=combine-then-adapt", "topology.graph=complete"}));
  ASSERT_EQ(ssgd.size(), 300u);
  EXPECT_LT(max_relative_difference(ssgd, dpsgd), 1e-12);
  // Lian's order on the same graph is a different algorithm: the gradient is taken before mixing.
  const auto lian = trajectory(standardized_seed_experiment({"algorithm.name=dpsgd", "topology.graph=complete"}));
  EXPECT_GT(max_relative_difference(ssgd, lian), 1e-6);
}

TEST(GossipIdentity, OneWorkerIsSequentialSgd) {
  for (const std::string variant : {"lian", "combine-then-adapt"}) {
    const auto e = standardized_seed_experiment({"workers.count=1", "algorithm.name=dpsgd", "algorithm.variant=" + variant});
    EXPECT_LT(max_relative_difference(trajectory(e), testutil::sequential_sgd(e, 0.1)), 1e-12) << variant;
  }
}

TEST(GossipSimulation, IdentitiesHoldThroughTheSimulator) {
  TempDir dir;
  // Combine-then-adapt on the complete graph, with a straggler: the average model is SSGD's.
  const auto cta = write_scenario(dir, 4, R"(<algorithm name="dpsgd" eta="0.1" variant="combine-then-adapt"/>)",
                                  R"(<topology kind="gossip" graph="complete"/>)", 40);
  ASSERT_EQ(run(cta, dir / "cta").exit_code, 0);
  const auto ssgd = load_scenario(cta, {parse_override("algorithm.name=ssgd"), parse_override("topology.kind=parameter-server")});
  EXPECT_LT(max_relative_difference({read_weights(dir / "cta/weights.csv")}, {run_sequential(build_experiment(ssgd))}),
            1e-12);
  // Lian's order on a ring: however the messages are timed, every node mixes its neighbours'
  // models of the previous step, so the simulator's model is the lockstep schedule's.
  const auto ring = write_scenario(dir, 5, R"(<algorithm name="dpsgd" eta="0.1"/>)", "", 30);
  ASSERT_EQ(run(ring, dir / "ring").exit_code, 0);
  EXPECT_LT(max_relative_difference({read_weights(dir / "ring/weights.csv")}, {run_sequential(build_experiment(load_scenario(ring)))}),
            1e-12);
}

TEST(GossipSimulation, ReportsConsensusAndRerunsAreByteIdentical) {
  TempDir dir;
  const auto scenario = write_scenario(dir, 4, R"(<algorithm name="dpsgd" eta="0.05"/>)",
                                       R"(<topology kind="gossip" graph="torus"/>)", 60);
  { const auto r = run(scenario, dir / "a"); ASSERT_EQ(r.exit_code, 0) << r.out; }
  ASSERT_EQ(run(scenario, dir / "b").exit_code, 0);
  const auto rounds = testutil::read_text(dir / "a/rounds.csv");
  EXPECT_EQ(rounds, testutil::read_text(dir / "b/rounds.csv"));
  EXPECT_EQ(testutil::read_text(dir / "a/weights.csv"), testutil::read_text(dir / "b/weights.csv"));
  EXPECT_NE(rounds.find(",consensus_distance\n0,0,"), std::string::npos) << rounds.substr(0, 200);
  const auto summary = nlohmann::json::parse(testutil::read_text(dir / "a/summary.json"));
  EXPECT_GT(summary["result"]["final_consensus_distance"].get<double>(), 0.0);
  EXPECT_EQ(summary["result"]["rounds"], 60);
  // Every step every worker sends its model to its 2 torus neighbours (2 x 2: one per direction).
  EXPECT_GE(summary["result"]["messages_sent"].get<int>(), 60 * 4 * 2);
  const auto& workers = summary["time_breakdown"]["workers"];
  EXPECT_GT(workers[0]["samples"].get<double>(), 0.0);
}

// Gossip runs book each worker's time as the server topologies do: compute, communication and
// waiting add up to the run's simulated time, and rounds.csv carries the mean compute and
// communication time so far (the time-breakdown figure reads it up to a target).
TEST(GossipSimulation, BooksEachWorkersTimeAsTheOtherTopologies) {
  TempDir dir;
  for (const std::string algorithm : {"dpsgd", "adpsgd"}) {
    const auto scenario = write_scenario(dir, 4, fmt::format(R"(<algorithm name="{}" eta="0.05"/>)", algorithm), "", 40);
    const auto out = dir / algorithm;
    const auto result = run(scenario, out, "--set model.sim-forward-flops=1e5 --set model.sim-parameters=31");
    ASSERT_EQ(result.exit_code, 0) << result.out;
    const auto summary = nlohmann::json::parse(testutil::read_text(out / "summary.json"));
    const double total = summary["result"]["sim_time"];
    for (const auto& w : summary["time_breakdown"]["workers"]) {
      const double compute = w["compute_time"], comm = w["comm_time"], wait = w["wait_time"];
      EXPECT_GT(compute, 0.01 * total) << algorithm << " worker " << w["worker"];
      EXPECT_NEAR(compute + comm + wait, total, 1e-9 * total) << algorithm << " worker " << w["worker"];
    }
    std::istringstream rows(testutil::read_text(out / "rounds.csv"));
    std::string header, line, last;
    std::getline(rows, header);
    ASSERT_NE(header.find(",mean_compute_time,mean_comm_time"), std::string::npos) << header;
    double previous = 0;
    while (std::getline(rows, line)) {
      std::vector<double> cells;
      std::istringstream fields(line);
      for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(std::stod(cell));
      const double time = cells.at(1), compute = cells.at(9), comm = cells.at(10);
      EXPECT_GE(compute, previous) << algorithm << ": " << line;
      EXPECT_LE(compute + comm, time * (1 + 1e-12)) << algorithm << ": " << line;
      previous = compute;
    }
    EXPECT_GT(previous, 0.0) << algorithm;
    EXPECT_NEAR(previous, summary["time_breakdown"]["mean_compute_time"].get<double>(), 1e-9 * total) << algorithm;
    // The slow worker finds its neighbours' models already in; the others wait for its model in transit.
    EXPECT_GT(summary["time_breakdown"]["mean_comm_time"].get<double>(), 0.0) << algorithm;
  }
}

TEST(PairwiseGossip, AveragesAPairAndKeepsTheSumUnderInterleaving) {
  AlgorithmSetup setup;
  setup.params = AlgorithmParams(*find_algorithm("adpsgd"));
  setup.params.set("eta", 0.0);
  setup.graph = std::make_shared<const GossipGraph>(ring_graph(3));
  const auto e = standardized_seed_experiment({});
  auto trainer = e.make_trainer(0);
  const auto dim = e.initial.size();
  const auto node = [&](int k, double value) {
    auto made = find_algorithm("adpsgd")->make_node(setup, k, Vector::Constant(dim, value));
    return std::unique_ptr<PairwiseNode>(static_cast<PairwiseNode*>(made.release()));
  };
  auto a = node(0, 1.0), b = node(1, 5.0), c = node(2, -3.0);
  a->before_exchange(1, trainer);  // eta = 0: the gradient steps change nothing
  c->before_exchange(1, trainer);
  // a averages with b, uninterrupted: both end at 3.
  auto offered = a->offer();
  Vector old = b->answer(*offered);
  a->after_exchange(1, {&old}, trainer);
  EXPECT_EQ(a->model(), Vector::Constant(dim, 3.0));
  EXPECT_EQ(b->model(), Vector::Constant(dim, 3.0));
  // a offers to b, but c averages with a before b's answer comes back: the sum still holds.
  offered = a->offer();
  const auto from_c = c->offer();
  const Vector a_before_c = a->answer(*from_c);
  c->after_exchange(1, {&a_before_c}, trainer);
  old = b->answer(*offered);
  a->after_exchange(2, {&old}, trainer);
  EXPECT_DOUBLE_EQ((a->model() + b->model() + c->model())(0), 1.0 + 5.0 - 3.0);
  // Partners are neighbours, drawn from the seed: the same every time.
  for (int step = 1; step < 20; ++step) {
    EXPECT_NE(a->partner(step), 0);
    EXPECT_EQ(a->partner(step), node(0, 0.0)->partner(step));
  }
}

TEST(PairwiseGossip, OneWorkerIsSequentialSgd) {
  const auto e = standardized_seed_experiment({"workers.count=1", "algorithm.name=adpsgd"});
  EXPECT_LT(max_relative_difference(trajectory(e), testutil::sequential_sgd(e, 0.1)), 1e-12);
}

TEST(PairwiseGossip, SimulatesOneWorkerAsSgdAndRerunsByteIdentically) {
  TempDir dir;
  const auto one = write_scenario(dir, 1, R"(<algorithm name="adpsgd" eta="0.1"/>)", "", 40);
  ASSERT_EQ(run(one, dir / "one").exit_code, 0);
  EXPECT_LT(max_relative_difference({read_weights(dir / "one/weights.csv")}, {run_sequential(build_experiment(load_scenario(one)))}),
            1e-12);
  const auto four = write_scenario(dir, 4, R"(<algorithm name="adpsgd" eta="0.05"/>)", "", 120);
  ASSERT_EQ(run(four, dir / "a").exit_code, 0);
  ASSERT_EQ(run(four, dir / "b").exit_code, 0);
  EXPECT_EQ(testutil::read_text(dir / "a/rounds.csv"), testutil::read_text(dir / "b/rounds.csv"));
  EXPECT_EQ(testutil::read_text(dir / "a/weights.csv"), testutil::read_text(dir / "b/weights.csv"));
  const auto summary = nlohmann::json::parse(testutil::read_text(dir / "a/summary.json"));
  EXPECT_EQ(summary["result"]["rounds"], 120);
  EXPECT_GT(summary["result"]["final_consensus_distance"].get<double>(), 0.0);
  EXPECT_GT(summary["result"]["final_accuracy"].get<double>(), 0.8);
  // Asynchronous: the slow worker (the last) takes fewer steps than the fast ones.
  const auto& workers = summary["time_breakdown"]["workers"];
  EXPECT_LT(workers[3]["samples"].get<double>(), workers[0]["samples"].get<double>());
}

TEST(Stragglers, SlowdownFactorsSlowTheirWorkerInEveryAlgorithm) {
  TempDir dir;
  const auto scenario = write_scenario(dir, 4, R"(<algorithm name="ssgd" eta="0.1"/>)", "", 20);
  const std::string heavy = "--set model.sim-forward-flops=1e5 --set model.sim-parameters=31";
  const auto sim_time = [&](const std::string& name, const std::string& extra) {
    const auto result = run(scenario, dir / name, heavy + " " + extra);
    EXPECT_EQ(result.exit_code, 0) << result.out;
    return nlohmann::json::parse(testutil::read_text(dir / name / "summary.json"))["result"]["sim_time"].get<double>();
  };
  const double plain = sim_time("plain", "");
  EXPECT_EQ(sim_time("ones", "--set workers.slowdown=1,1,1,1"), plain);  // factor 1 changes nothing, bit for bit
  EXPECT_GT(sim_time("slow", "--set workers.slowdown=4,1,1,1"), 1.5 * plain);
  const double drawn = sim_time("drawn", "--set workers.slowdown=lognormal:0.8");
  EXPECT_NE(drawn, plain);
  EXPECT_EQ(sim_time("again", "--set workers.slowdown=lognormal:0.8"), drawn);  // seeded
  // Asynchronous gossip: the slowed worker takes fewer steps.
  const auto result = run(scenario, dir / "ad", heavy + " --set algorithm.name=adpsgd --set workers.slowdown=1,1,1,5");
  ASSERT_EQ(result.exit_code, 0) << result.out;
  const auto summary = nlohmann::json::parse(testutil::read_text(dir / "ad/summary.json"));
  EXPECT_EQ(summary["workers"]["slowdown_factors"], nlohmann::json::parse("[1.0, 1.0, 1.0, 5.0]"));
  const auto& workers = summary["time_breakdown"]["workers"];
  EXPECT_LT(3 * workers[3]["samples"].get<double>(), workers[0]["samples"].get<double>());
  // Bad values: exit 2 at the <workers> line.
  for (const std::string bad : {"1,2", "lognormal:-1", "1,0,1,1", "fast"}) {
    const auto refused = run(scenario, dir / "never", "--set workers.slowdown=" + bad);
    EXPECT_EQ(refused.exit_code, 2) << bad << ": " << refused.out;
    EXPECT_NE(refused.out.find("s.xml:5: <workers> attribute 'slowdown'"), std::string::npos) << refused.out;
  }
}

// The topologies with their own worker loops (the streaming exchange, the star that survives
// failures) run their compute through the same slowdown.
TEST(Stragglers, SlowdownAlsoSlowsStreamingAndFailureRuns) {
  TempDir dir;
  const std::string heavy = "--set model.sim-forward-flops=1e5 --set model.sim-parameters=31";
  const auto sim_time = [&](const std::filesystem::path& scenario, const std::string& name, const std::string& extra) {
    const auto result = run(scenario, dir / name, heavy + " " + extra);
    EXPECT_EQ(result.exit_code, 0) << result.out;
    return nlohmann::json::parse(testutil::read_text(dir / name / "summary.json"))["result"]["sim_time"].get<double>();
  };
  const auto streaming = write_scenario(
      dir, 4, R"(<algorithm name="streaming-diloco" eta="0.1" local-steps="4" fragments="2" overlap="1"/>)", "", 20);
  EXPECT_GT(sim_time(streaming, "stream-slow", "--set workers.slowdown=4,1,1,1"), 1.5 * sim_time(streaming, "stream", ""));
  const auto failures = write_scenario(dir, 4, R"(<algorithm name="ma" eta="0.1" local-steps="2"/>)",
                                       R"(<failures timeout="10s"><host name="w3" round="15"/></failures>)", 20);
  EXPECT_GT(sim_time(failures, "fail-slow", "--set workers.slowdown=4,1,1,1"), 1.5 * sim_time(failures, "fail", ""));
}

TEST(GossipBadInput, RejectedBeforeAnythingIsWritten) {
  TempDir dir;
  testutil::write_text(dir / "split.txt", "0 1\n2 3\n");
  testutil::write_text(dir / "bad.txt", "0 1\n# comment\n1 7\n");
  const auto check = [&](const std::string& algorithm, const std::string& topology, const std::string& where,
                         const std::string& message) {
    const auto scenario = write_scenario(dir, 4, algorithm, topology, 10);
    const auto result = run(scenario, dir / "never");
    EXPECT_EQ(result.exit_code, 2) << result.out;
    EXPECT_NE(result.out.find(where), std::string::npos) << result.out;
    EXPECT_NE(result.out.find(message), std::string::npos) << result.out;
    EXPECT_FALSE(std::filesystem::exists(dir / "never"));
  };
  const std::string dpsgd = R"(<algorithm name="dpsgd" eta="0.1"/>)";
  check(dpsgd, R"(<topology kind="gossip" graph="file" file="bad.txt"/>)", "bad.txt:3:", "'7' is not a worker");
  check(dpsgd, R"(<topology kind="gossip" graph="file" file="split.txt"/>)", "s.xml:", "workers 2, 3 cannot reach worker 0");
  check(dpsgd, R"(<topology kind="gossip" graph="file"/>)", "s.xml:", "'file'");
  check(dpsgd, R"(<topology kind="gossip" graph="star"/>)", "s.xml:", "'star'");
  check(dpsgd, R"(<topology kind="parameter-server"/>)", "s.xml:", "dpsgd runs only on topology gossip");
  check(R"(<algorithm name="ssgd" eta="0.1"/>)", R"(<topology kind="gossip"/>)", "s.xml:", "runs only the decentralized");
  // Neighbours the platform does not connect (a star without routes between the workers).
  const auto scenario = write_scenario(dir, 3, dpsgd, "", 10);
  testutil::write_text(dir / "star.xml", testutil::star_platform(3, {}));
  const auto result = run(scenario, dir / "never");
  EXPECT_EQ(result.exit_code, 2) << result.out;
  EXPECT_NE(result.out.find("s.xml:1: <topology>: gossip neighbours 0 and 1 run on hosts w0 and w1"), std::string::npos)
      << result.out;
}
