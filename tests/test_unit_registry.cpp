// The algorithm registry: every registered algorithm's declarations are consistent and enough to
// build and run it; typed attributes parse, range-check and print as declared.
#include "algorithms/registry.hpp"
#include "experiment/sequential_driver.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>
#include <set>

using namespace dmlsim;

TEST(Registry, ListsTheShippedAlgorithmsByName) {
  const auto names = algorithm_names();
  for (const std::string name : {"ssgd", "ma", "bmuf", "easgd"}) {
    ASSERT_NE(find_algorithm(name), nullptr) << name;
    EXPECT_EQ(find_algorithm(name)->name, name);
  }
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size()) << "names are unique";
  EXPECT_EQ(find_algorithm("sgd"), nullptr);
  EXPECT_THROW(register_algorithm(*find_algorithm("ma")), std::invalid_argument);
}

TEST(Registry, EveryDeclaredDefaultIsAnAllowedValueThatPrintsAndParsesBack) {
  for (const auto* algorithm : registered_algorithms()) {
    EXPECT_FALSE(algorithm->summary.empty()) << algorithm->name;
    ASSERT_TRUE(algorithm->make_server && (algorithm->make_worker || algorithm->make_node) && algorithm->round_flops) << algorithm->name;
    std::set<std::string> seen;
    for (const auto& spec : algorithm->attributes) {
      SCOPED_TRACE(algorithm->name + "." + spec.name);
      EXPECT_TRUE(seen.insert(spec.name).second) << "declared twice";
      EXPECT_NE(spec.name, "name");
      EXPECT_FALSE(spec.doc.empty());
      EXPECT_EQ(spec.default_value.index(), static_cast<std::size_t>(spec.type));
      EXPECT_EQ(parse_attribute(spec, attribute_text(spec.default_value)), spec.default_value);
      // An attribute several algorithms declare means the same everywhere (the scenario reader
      // checks another algorithm's attribute against the first declaration).
      const auto* first = find_any_attribute(spec.name);
      EXPECT_EQ(first->type, spec.type);
      EXPECT_EQ(first->allowed_text(), spec.allowed_text());
    }
  }
}

TEST(Registry, EveryAlgorithmTrainsFromItsDefaultsAndCostsWhatItDeclares) {
  for (const auto* algorithm : registered_algorithms()) {
    SCOPED_TRACE(algorithm->name);
    const auto e = build_experiment(load_scenario(testutil::source_dir() / "scenarios/seed/ssgd.xml",
                                                  {parse_override("algorithm.name=" + algorithm->name),
                                                   parse_override("training.rounds=3")}));
    EXPECT_EQ(e.algorithm.params.name(), algorithm->name);
    const Vector w = run_sequential(e);
    EXPECT_TRUE(w.allFinite());
    EXPECT_NE(w, e.initial) << "three rounds of training move the model";
    EXPECT_GT(e.expected_round_flops(), 0.0);
  }
}

TEST(Registry, RoundFlopsFormulasMovedOutOfTheExperimentAreUnchanged) {
  const RoundCost cost{1000.0, 62.0};
  AlgorithmParams ma(*find_algorithm("ma"));
  ma.set("local-steps", 3);
  AlgorithmParams easgd(*find_algorithm("easgd"));
  easgd.set("tau", 4);
  EXPECT_EQ(find_algorithm("ssgd")->round_flops(AlgorithmParams(*find_algorithm("ssgd")), cost), 1000.0);
  EXPECT_EQ(find_algorithm("ma")->round_flops(ma, cost), 3 * 1062.0);
  EXPECT_EQ(find_algorithm("bmuf")->round_flops(AlgorithmParams(*find_algorithm("bmuf")), cost), 5 * 1062.0);
  EXPECT_EQ(find_algorithm("easgd")->round_flops(easgd, cost), 4 * 1000.0 + 3 * 62.0);
}

TEST(Attributes, ParseCheckRangesAndNameWhatIsAllowed) {
  const auto mu = real_attribute("mu", 0.9, {0.0, 1.0, true}, "momentum");
  EXPECT_EQ(parse_attribute(mu, "0.5"), AttributeValue(0.5));
  EXPECT_EQ(mu.allowed_text(), "[0, 1)");
  try {
    parse_attribute(mu, "1");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "1 is out of range [0, 1)");
  }
  const auto steps = integer_attribute("steps", 5, {1, 10}, "steps");
  EXPECT_EQ(parse_attribute(steps, "10"), AttributeValue(10));
  EXPECT_THROW(parse_attribute(steps, "2.5"), std::invalid_argument);
  EXPECT_THROW(parse_attribute(steps, "11"), std::invalid_argument);
  const auto flag = boolean_attribute("flag", false, "a flag");
  EXPECT_EQ(parse_attribute(flag, "true"), AttributeValue(true));
  EXPECT_EQ(flag.allowed_text(), "true|false");
  const auto order = choice_attribute("order", "seed", {"seed", "paper"}, "order");
  try {
    parse_attribute(order, "random");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "'random' is not one of: seed, paper");
  }
  EXPECT_EQ(learning_rate_attribute().allowed_text(), "[0, inf)");
  EXPECT_TRUE(learning_rate_attribute().required);
}

TEST(Attributes, TypedGettersRefuseUndeclaredAttributesAndWrongTypes) {
  AlgorithmParams ma(*find_algorithm("ma"));
  EXPECT_EQ(ma.integer("local-steps"), 5);
  EXPECT_THROW(ma.real("local-steps"), std::logic_error);
  EXPECT_THROW(ma.real("mu"), std::logic_error);
  EXPECT_THROW(ma.set("local-steps", 2.0), std::logic_error);
  EXPECT_THROW(AlgorithmParams().name(), std::logic_error);
}
