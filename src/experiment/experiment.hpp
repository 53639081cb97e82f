// The training side of a scenario, made concrete: data loaded, split, standardised and
// partitioned; the model; the algorithm setup; the initial parameters. Shared by the simulator and
// the sequential driver, so both train exactly the same thing.
#pragma once

#include "algorithms/algorithm.hpp"
#include "model/model.hpp"
#include "scenario/scenario.hpp"

#include <memory>

namespace dmlsim {

struct Experiment {
  Dataset train;
  Dataset test;
  std::unique_ptr<Model> model;
  std::vector<std::vector<int>> partitions;
  AlgorithmSetup algorithm;
  BatchSpec batch;
  Vector initial;  // initial global parameters
  int rounds = 0;

  LocalTrainer make_trainer(int worker) const {
    return LocalTrainer(*model, train, partitions[static_cast<std::size_t>(worker)], batch, algorithm.seed, worker);
  }
};

// Throws ScenarioError (data problems are reported against the scenario's <data> line).
Experiment build_experiment(const Scenario& scenario);

}  // namespace dmlsim
