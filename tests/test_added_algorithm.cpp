// A fifth algorithm added the way the registry promises: its own file (tests/algorithms/wma.cpp),
// one registration line (below; a shipped algorithm's line is in src/algorithms/registry.cpp's
// table) and these tests. Nothing else was edited: the scenario reader, --set, study axes, the
// FLOPs charged per round, the simulator and summary.json all take it from the registry.
#include "algorithms/registry.hpp"
#include "experiment/sequential_driver.hpp"
#include "sim/simulation.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

namespace dmlsim {
const AlgorithmInfo& wma_algorithm();  // tests/algorithms/wma.cpp
}

using namespace dmlsim;

namespace {

[[maybe_unused]] const bool kRegistered = (register_algorithm(wma_algorithm()), true);

Scenario seed_scenario(const std::string& algorithm, const std::vector<std::string>& sets) {
  std::vector<Override> overrides{parse_override("algorithm.name=" + algorithm)};
  for (const auto& set : sets) overrides.push_back(parse_override(set));
  return load_scenario(testutil::source_dir() / "scenarios/seed/ma.xml", overrides);
}

std::vector<Vector> trajectory(const Scenario& scenario) {
  std::vector<Vector> models;
  run_sequential(build_experiment(scenario), [&](int, const Vector& w) {
    models.push_back(w);
    return true;
  });
  return models;
}

std::string error_of(const std::string& algorithm, const std::vector<std::string>& sets) {
  try {
    seed_scenario(algorithm, sets);
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(AddedAlgorithm, ScenarioReaderTakesItsAttributesFromTheRegistry) {
  EXPECT_EQ(algorithm_names().back(), "wma");
  const auto s = seed_scenario("wma", {"algorithm.weighted=false", "algorithm.local-steps=3"});
  EXPECT_EQ(s.algorithm.name(), "wma");
  EXPECT_FALSE(s.algorithm.boolean("weighted"));
  EXPECT_EQ(s.algorithm.integer("local-steps"), 3);
  EXPECT_TRUE(seed_scenario("wma", {}).algorithm.boolean("weighted")) << "the declared default";
  EXPECT_NE(error_of("wma", {"algorithm.weighted=maybe"}).find("attribute 'weighted' (set on the command line: --set "
                                                               "algorithm.weighted): 'maybe'"),
            std::string::npos);
  EXPECT_NE(error_of("wma", {"algorithm.wieghted=true"}).find("unknown attribute (wma takes: eta, local-steps, weighted)"),
            std::string::npos);
  EXPECT_NE(error_of("ma", {"algorithm.weighted=2"}).find("'weighted'"), std::string::npos)
      << "another algorithm's attribute is still checked against its declaration";
  EXPECT_NO_THROW(check_algorithm_setting("weighted", "true"));
  EXPECT_THROW(check_algorithm_setting("name", "wmaa"), std::invalid_argument);
}

TEST(AddedAlgorithm, UnweightedIsMaBitForBit) {
  const auto ma = trajectory(seed_scenario("ma", {}));
  ASSERT_EQ(ma.size(), 300u);
  EXPECT_EQ(trajectory(seed_scenario("wma", {"algorithm.weighted=false"})), ma);
}

TEST(AddedAlgorithm, WeightedWithEqualBatchesIsMaAndWithBernoulliBatchesIsNot) {
  const std::vector<std::string> fixed = {"batch.rule=fixed", "batch.size=8"};
  auto with_fixed = fixed;
  with_fixed.push_back("algorithm.weighted=true");
  EXPECT_EQ(trajectory(seed_scenario("wma", with_fixed)), trajectory(seed_scenario("ma", fixed)));
  const auto ma = trajectory(seed_scenario("ma", {}));
  const auto wma = trajectory(seed_scenario("wma", {}));
  double difference = 0;
  for (std::size_t r = 0; r < ma.size(); ++r) difference = std::max(difference, (ma[r] - wma[r]).norm());
  EXPECT_GT(difference, 1e-9) << "Bernoulli batches differ in size, so the weights differ from 1/K";
}

TEST(AddedAlgorithm, RunsThroughTheSimulatorLikeMaAndReportsItsTypedAttributes) {
  const auto simulate = [](const std::string& algorithm, const std::vector<std::string>& sets) {
    return testutil::in_child([&] {
      const auto scenario = seed_scenario(algorithm, sets);
      Simulation simulation(scenario, {});
      const auto& record = simulation.run();
      return summary_json(scenario, simulation.context(), record)["algorithm"].dump() + "\n" + rounds_csv(record.rows);
    });
  };
  const auto ma = simulate("ma", {"training.rounds=20"});
  const auto wma = simulate("wma", {"training.rounds=20", "algorithm.weighted=false"});
  EXPECT_EQ(wma.substr(0, wma.find('\n')), R"({"name":"wma","eta":0.1,"local-steps":5,"weighted":false})");
  EXPECT_EQ(wma.substr(wma.find('\n')), ma.substr(ma.find('\n')))
      << "same maths, messages and FLOPs per round: the same rounds.csv, simulated times included";
}
