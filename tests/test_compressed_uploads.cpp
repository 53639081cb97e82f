// What a compressed upload is a change from (compression/compressed_roles.cpp): a model upload
// (MA) travels as the change from the vector the worker received, a gradient or change of its own
// (SSGD, ASGD, asynchronous EASGD) as itself. Top-1 of the breast-cancer logistic model's 31
// parameters makes the difference visible: the server sees received + one changed coordinate for a
// model, exactly one non-zero coordinate for a gradient.
#include "algorithms/registry.hpp"
#include "experiment/experiment.hpp"
#include "scenario/scenario.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

using namespace dmlsim;
using namespace dmlsim::testutil;

namespace {

Experiment seed_experiment(const std::string& algorithm, const std::string& sparsify) {
  std::vector<Override> overrides;
  for (const auto& s : {"algorithm.name=" + algorithm, std::string("data.standardize=true"),
                        "compression.sparsify=" + sparsify, std::string("compression.k=1")})
    overrides.push_back(parse_override(s));
  return build_experiment(load_scenario(source_dir() / "scenarios/seed/bmuf.xml", overrides));
}

// One upload of worker 0 from the initial model, and the same upload uncompressed.
std::pair<Vector, Vector> compressed_and_exact(const std::string& algorithm) {
  const auto e = seed_experiment(algorithm, "top-k");
  auto exact_setup = e.algorithm;
  exact_setup.compression = CompressionSpec{};
  Upload compressed, exact;
  auto trainer = e.make_trainer(0), same_trainer = e.make_trainer(0);
  make_worker(e.algorithm, 0, e.initial)->run_round(1, e.initial, trainer, compressed);
  make_worker(exact_setup, 0, e.initial)->run_round(1, e.initial, same_trainer, exact);
  return {compressed.values, exact.values};
}

Eigen::Index nonzeros(const Vector& v) { return (v.array() != 0).count(); }

TEST(CompressedUploads, AGradientTravelsAsItselfNotAsAChangeFromTheModel) {
  for (const std::string algorithm : {"ssgd", "asgd", "easgd-async"}) {
    const auto [sent, exact] = compressed_and_exact(algorithm);
    ASSERT_EQ(sent.size(), exact.size());
    EXPECT_EQ(nonzeros(sent), 1) << algorithm;
    Eigen::Index largest = 0;
    exact.cwiseAbs().maxCoeff(&largest);
    EXPECT_EQ(sent[largest], exact[largest]) << algorithm;
  }
}

TEST(CompressedUploads, AModelTravelsAsTheChangeFromWhatWasReceived) {
  const auto e = seed_experiment("ma", "top-k");
  const auto [sent, exact] = compressed_and_exact("ma");
  const Vector change = sent - e.initial;
  EXPECT_EQ(nonzeros(change), 1);
  Eigen::Index largest = 0;
  (exact - e.initial).cwiseAbs().maxCoeff(&largest);
  EXPECT_EQ(sent[largest], e.initial[largest] + (exact[largest] - e.initial[largest]));
}

}  // namespace
