#include "algorithms/decentralized.hpp"

#include <stdexcept>

namespace dmlsim {

Consensus consensus(const std::vector<const Vector*>& models) {
  Consensus c;
  c.average = Vector::Zero(models.front()->size());
  for (const auto* x : models) c.average += *x;
  c.average /= static_cast<double>(models.size());
  for (const auto* x : models) c.distance += (*x - c.average).norm();
  c.distance /= static_cast<double>(models.size());
  return c;
}

void mix(const MixingRow& row, const std::vector<const Vector*>& models, Vector& out) {
  out = row.front().weight * *models.front();
  for (std::size_t e = 1; e < row.size(); ++e) out.noalias() += row[e].weight * *models[e];
}

void drop_absent(MixingRow& row, std::vector<const Vector*>& models, int self) {
  double moved = 0;
  MixingRow kept;
  std::vector<const Vector*> present;
  for (std::size_t e = 0; e < row.size(); ++e) {
    if (models[e]) {
      kept.push_back(row[e]);
      present.push_back(models[e]);
    } else {
      moved += row[e].weight;
    }
  }
  for (auto& entry : kept)
    if (entry.node == self) entry.weight += moved;
  row = std::move(kept);
  models = std::move(present);
}

void AverageModel::aggregate(const std::vector<Upload>& uploads) {
  std::vector<const Vector*> models;
  for (const auto& u : uploads) models.push_back(&u.values);
  auto c = consensus(models);
  w_ = std::move(c.average);
  distance_ = c.distance;
}

MixingRow setup_mixing_row(const AlgorithmSetup& setup, int worker) {
  if (!setup.graph) throw std::logic_error("a decentralized algorithm needs the setup's gossip graph");
  return metropolis_row(*setup.graph, worker);
}

}  // namespace dmlsim
