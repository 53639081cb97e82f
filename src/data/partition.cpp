#include "data/partition.hpp"

#include "util/rng.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <numeric>

namespace dmlsim {

namespace {

std::vector<std::vector<int>> slices(const std::vector<int>& order, int workers) {
  const auto n = static_cast<long long>(order.size());
  std::vector<std::vector<int>> parts(static_cast<std::size_t>(workers));
  for (int k = 0; k < workers; ++k) {
    // 64-bit products: Spark computes (i * n) / K in Long.
    const auto begin = static_cast<long>(static_cast<long long>(k) * n / workers);
    const auto end = static_cast<long>(static_cast<long long>(k + 1) * n / workers);
    parts[static_cast<std::size_t>(k)].assign(order.begin() + begin, order.begin() + end);
  }
  return parts;
}

std::vector<std::vector<int>> rows_by_class(const Dataset& train) {
  std::vector<std::vector<int>> by_class(static_cast<std::size_t>(train.classes));
  for (Eigen::Index i = 0; i < train.rows(); ++i)
    by_class[static_cast<std::size_t>(train.labels(i))].push_back(static_cast<int>(i));
  return by_class;
}

std::vector<std::vector<int>> shards(const Dataset& train, int workers, int per_worker, std::uint64_t key) {
  std::vector<int> sorted;
  for (const auto& rows : rows_by_class(train)) sorted.insert(sorted.end(), rows.begin(), rows.end());
  const auto pieces = slices(sorted, workers * per_worker);
  const auto order = random_permutation(workers * per_worker, key);
  std::vector<std::vector<int>> parts(static_cast<std::size_t>(workers));
  for (std::size_t i = 0; i < order.size(); ++i) {
    auto& part = parts[i / static_cast<std::size_t>(per_worker)];
    const auto& piece = pieces[static_cast<std::size_t>(order[i])];
    part.insert(part.end(), piece.begin(), piece.end());
  }
  for (auto& part : parts) std::sort(part.begin(), part.end());
  return parts;
}

std::vector<std::vector<int>> dirichlet(const Dataset& train, int workers, double alpha, std::uint64_t key) {
  std::vector<std::vector<int>> parts(static_cast<std::size_t>(workers));
  const auto by_class = rows_by_class(train);
  for (std::size_t c = 0; c < by_class.size(); ++c) {
    Rng rng(derive_key(key, Stream::Partition, {c}));
    std::vector<double> share(static_cast<std::size_t>(workers));
    for (auto& s : share) s = gamma_variate(rng, alpha);
    const double total = std::accumulate(share.begin(), share.end(), 0.0);
    // Rows of this class in random order, cut at the cumulative shares.
    std::vector<int> rows = by_class[c];
    for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng.below(i)]);
    double cumulative = 0;
    std::size_t begin = 0;
    for (std::size_t k = 0; k < share.size(); ++k) {
      cumulative += share[k] / total;
      const auto end = k + 1 == share.size() ? rows.size()
                                             : std::min(rows.size(), static_cast<std::size_t>(cumulative * static_cast<double>(rows.size()) + 0.5));
      parts[k].insert(parts[k].end(), rows.begin() + static_cast<long>(begin), rows.begin() + static_cast<long>(std::max(begin, end)));
      begin = std::max(begin, end);
    }
  }
  for (auto& part : parts) std::sort(part.begin(), part.end());
  return parts;
}

}  // namespace

std::vector<std::vector<int>> partition_rows(int n, int workers, PartitionScheme scheme, std::uint64_t key) {
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (scheme == PartitionScheme::Shuffled) order = random_permutation(n, key);
  return slices(order, workers);
}

std::vector<std::vector<int>> partition_rows(const Dataset& train, int workers, const PartitionSpec& spec,
                                             std::uint64_t key) {
  switch (spec.scheme) {
    case PartitionScheme::Contiguous:
    case PartitionScheme::Shuffled: return partition_rows(static_cast<int>(train.rows()), workers, spec.scheme, key);
    case PartitionScheme::Shards: return shards(train, workers, spec.shards_per_worker, key);
    case PartitionScheme::Dirichlet: return dirichlet(train, workers, spec.dirichlet_alpha, key);
  }
  return {};
}

std::string class_histogram_csv(const Dataset& train, const std::vector<std::vector<int>>& partitions) {
  std::string out = "worker,rows";
  for (int c = 0; c < train.classes; ++c) out += fmt::format(",class_{}", c);
  out += '\n';
  for (std::size_t k = 0; k < partitions.size(); ++k) {
    std::vector<long> counts(static_cast<std::size_t>(train.classes), 0);
    for (int row : partitions[k]) ++counts[static_cast<std::size_t>(train.labels(row))];
    out += fmt::format("{},{},{}\n", k, partitions[k].size(), fmt::join(counts, ","));
  }
  return out;
}

}  // namespace dmlsim
