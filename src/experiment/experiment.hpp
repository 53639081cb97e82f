// The training side of a scenario, made concrete: data loaded, split, standardised and
// partitioned; the model; the algorithm setup; the initial parameters; the costs the simulator
// charges. Shared by the simulator and the sequential driver, so both train exactly the same thing.
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

  // What the simulator charges: the real model's costs, or a declared profile's.
  double gradient_flops_per_sample = 0;
  double prediction_flops_per_sample = 0;
  double simulated_parameters = 0;  // parameters per message
  bool profiled = false;
  Eigen::Index eval_rows = 0;        // test rows per evaluation (0 = all)
  Eigen::Index train_loss_rows = 0;  // training rows behind train_loss (0 = all)

  // The run's trainers share one scratch: the simulator's actors and the sequential driver's loop
  // run one trainer at a time.
  std::shared_ptr<TrainerScratch> trainer_scratch = std::make_shared<TrainerScratch>();

  LocalTrainer make_trainer(int worker) const {
    return LocalTrainer(*model, train, partitions[static_cast<std::size_t>(worker)], batch, algorithm.seed, worker,
                        gradient_flops_per_sample, trainer_scratch);
  }
  // Test accuracy and loss, and training loss, as the run records them.
  Evaluation evaluate_test(const Vector& w) const { return evaluate(*model, test, w, eval_rows); }
  double train_loss(const Vector& w) const { return evaluate(*model, train, w, train_loss_rows).loss; }
  double evaluation_flops() const;
  // FLOPs one worker spends in a round with batches of their expected size (worker 0's partition).
  double expected_round_flops() const;
};

// Throws ScenarioError (data problems are reported against the scenario's <data> line).
Experiment build_experiment(const Scenario& scenario);

}  // namespace dmlsim
