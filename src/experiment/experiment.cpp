#include "experiment/experiment.hpp"

#include "model/logistic.hpp"
#include "util/rng.hpp"

#include <fmt/format.h>

namespace dmlsim {

namespace {

TrainTest load_data(const DataSpec& spec, std::uint64_t seed) {
  if (!spec.file.empty()) return split_random(load_csv(spec.file, spec.label), spec.test_fraction,
                                              derive_key(seed, Stream::Split));
  TrainTest data{load_csv(spec.train_file, spec.label), load_csv(spec.test_file, spec.label)};
  if (data.train.feature_names != data.test.feature_names)
    throw DataError(fmt::format("{}: its columns differ from those of {}", spec.test_file.string(),
                                spec.train_file.string()));
  return data;
}

}  // namespace

Experiment build_experiment(const Scenario& s) {
  Experiment e;
  try {
    auto data = load_data(s.data, s.seed);
    e.train = std::move(data.train);
    e.test = std::move(data.test);
  } catch (const DataError& error) {
    throw ScenarioError(s.file.string(), s.data.line, fmt::format("<data>: {}", error.what()));
  }
  if (e.train.rows() < s.workers.count)
    throw ScenarioError(s.file.string(), s.workers.line,
                        fmt::format("<workers> count {} exceeds the {} training rows: some workers would get no data",
                                    s.workers.count, e.train.rows()));
  if (s.data.standardize) {
    const auto scaler = Standardizer::fit(e.train);
    scaler.apply(e.train);
    scaler.apply(e.test);
  }
  add_bias_column(e.train);
  add_bias_column(e.test);

  e.model = std::make_unique<LogisticRegression>(e.train.cols());
  e.partitions = partition_rows(static_cast<int>(e.train.rows()), s.workers.count, s.workers.partition,
                                derive_key(s.seed, Stream::Partition));
  e.algorithm = {s.algorithm, s.workers.count, s.seed, s.model.init};
  e.batch = s.batch;
  e.initial = initial_parameters(s.model.init, e.model->dim(), derive_key(s.seed, Stream::Init));
  e.rounds = s.training.rounds;
  return e;
}

}  // namespace dmlsim
