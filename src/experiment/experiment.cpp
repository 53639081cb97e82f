#include "experiment/experiment.hpp"

#include "algorithms/registry.hpp"
#include "data/loaders.hpp"
#include "model/logistic.hpp"
#include "model/mlp.hpp"
#include "model/softmax.hpp"
#include "util/rng.hpp"

#include <fmt/format.h>

namespace dmlsim {

namespace {

Dataset load_one(const DataSpec& spec, const std::filesystem::path& file, const std::filesystem::path& labels) {
  const auto storage = spec.float32 ? Storage::Float32 : Storage::Float64;
  switch (spec.format) {
    case DataFormat::Csv: return load_csv(file, spec.label, storage);
    case DataFormat::Idx: return load_idx(file, labels, spec.scale, storage);
    case DataFormat::Libsvm: return load_libsvm(file, spec.features, storage);
  }
  return {};
}

TrainTest load_data(const DataSpec& spec, std::uint64_t seed) {
  if (!spec.file.empty())
    return split_random(load_one(spec, spec.file, {}), spec.test_fraction, derive_key(seed, Stream::Split));
  TrainTest data{load_one(spec, spec.train_file, spec.train_labels), load_one(spec, spec.test_file, spec.test_labels)};
  if (data.train.cols() != data.test.cols() ||
      (spec.format == DataFormat::Csv && data.train.feature_names != data.test.feature_names))
    throw DataError(fmt::format("{}: its columns differ from those of {}", spec.test_file.string(), spec.train_file.string()));
  data.train.classes = data.test.classes = std::max(data.train.classes, data.test.classes);
  return data;
}

std::unique_ptr<Model> make_model(const ModelSpec& spec, const Dataset& train) {
  if (spec.type == "logistic") return std::make_unique<LogisticRegression>(train.cols());
  if (spec.type == "softmax") return std::make_unique<SoftmaxRegression>(train.cols(), train.classes);
  std::vector<Eigen::Index> sizes{train.cols()};
  for (long h : spec.hidden) sizes.push_back(h);
  sizes.push_back(train.classes);
  return std::make_unique<Mlp>(sizes);
}

}  // namespace

double Experiment::evaluation_flops() const {
  const auto test_rows = eval_rows > 0 ? std::min(eval_rows, test.rows()) : test.rows();
  const auto train_rows = train_loss_rows > 0 ? std::min(train_loss_rows, train.rows()) : train.rows();
  return prediction_flops_per_sample * static_cast<double>(test_rows + train_rows);
}

double Experiment::expected_round_flops() const {
  const BatchSampler sampler(batch, partitions.front());
  RoundCost cost{sampler.expected_size() * gradient_flops_per_sample, 2.0 * static_cast<double>(model->dim())};
  cost.partition_rows = static_cast<double>(partitions.front().size());
  cost.batch_rows = sampler.expected_size();
  return algorithm.params.algorithm().round_flops(algorithm.params, cost);
}

Experiment build_experiment(const Scenario& s) {
  const auto fail = [&](int line, const std::string& message) { throw ScenarioError(s.file.string(), line, message); };
  Experiment e;
  try {
    auto data = load_data(s.data, s.seed);
    e.train = std::move(data.train);
    e.test = std::move(data.test);
  } catch (const DataError& error) {
    fail(s.data.line, fmt::format("<data>: {}", error.what()));
  }
  truncate_rows(e.train, s.data.train_rows);
  truncate_rows(e.test, s.data.test_rows);
  if (s.model.type == "logistic" && e.train.classes > 2)
    fail(s.model.line, fmt::format("<model> type 'logistic' needs labels 0 and 1, but the data has {} classes: use "
                                   "type=\"softmax\" or \"mlp\"", e.train.classes));
  if (e.train.rows() < s.workers.count && s.workers.partition.scheme != PartitionScheme::Dirichlet)
    fail(s.workers.line, fmt::format("<workers> count {} exceeds the {} training rows: some workers would get no data",
                                     s.workers.count, e.train.rows()));
  if (s.workers.partition.scheme == PartitionScheme::Shards &&
      e.train.rows() < static_cast<Eigen::Index>(s.workers.count) * s.workers.partition.shards_per_worker)
    fail(s.workers.line, "<workers> more shards than training rows");
  if (s.data.standardize) {
    const auto scaler = Standardizer::fit(e.train);
    scaler.apply(e.train);
    scaler.apply(e.test);
  }
  // Linear models carry their bias as a constant input column, as the seed does; the MLP has biases.
  if (s.model.type != "mlp") {
    add_bias_column(e.train);
    add_bias_column(e.test);
  }

  e.model = make_model(s.model, e.train);
  e.partitions = partition_rows(e.train, s.workers.count, s.workers.partition, derive_key(s.seed, Stream::Partition));
  e.algorithm = {s.algorithm, s.workers.count, s.seed, s.model.init, s.compression.spec};
  if (s.algorithm.algorithm().decentralized() && s.compression.present)
    fail(s.compression.line, fmt::format("<compression> applies to parameter-server and collective messages; {} sends "
                                         "whole models between workers uncompressed", s.algorithm.name()));
  if (s.algorithm.algorithm().decentralized())
    e.algorithm.graph = std::make_shared<const GossipGraph>(make_gossip_graph(s.topology.graph, s.workers.count, s.topology.edges));
  if (s.compression.spec.sparsify != Sparsifier::None && static_cast<Eigen::Index>(s.compression.spec.k) > e.model->dim())
    fail(s.compression.line, fmt::format("<compression> attribute 'k': {} is more than the model's {} parameters",
                                         s.compression.spec.k, e.model->dim()));
  if (const auto& algorithm = s.algorithm.algorithm(); algorithm.streaming) {
    const int fragments = algorithm.streaming(s.algorithm).fragments;
    if (fragments > e.model->dim())
      fail(s.model.line, fmt::format("<algorithm> attribute 'fragments': {} fragments, but the model has only {} parameters",
                                     fragments, e.model->dim()));
  }
  e.batch = s.batch;
  e.initial = e.model->initial_parameters(s.model.init, derive_key(s.seed, Stream::Init));
  e.rounds = s.training.rounds;
  e.eval_rows = s.training.eval_rows;
  e.train_loss_rows = s.training.train_loss_rows;
  e.profiled = s.model.sim_parameters.has_value();
  e.simulated_parameters = e.profiled ? *s.model.sim_parameters : static_cast<double>(e.model->dim());
  e.prediction_flops_per_sample = e.profiled ? *s.model.sim_forward_flops : e.model->prediction_flops_per_sample();
  e.gradient_flops_per_sample = e.profiled ? 3.0 * *s.model.sim_forward_flops : e.model->gradient_flops_per_sample();
  return e;
}

}  // namespace dmlsim
