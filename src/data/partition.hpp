// Partitioning the training rows over K workers, IID or with label skew.
#pragma once

#include "data/dataset.hpp"

#include <cstdint>
#include <vector>

namespace dmlsim {

enum class PartitionScheme {
  Contiguous,  // Spark's parallelize: worker k gets rows [k·n/K, (k+1)·n/K)
  Shuffled,    // the same slices of a random permutation (IID)
  Shards,      // label-sorted shards: rows sorted by class, cut into K·s shards, s random shards per
               // worker, so each worker sees about s classes (McMahan et al. 2017)
  Dirichlet,   // per class, shares over the workers drawn from Dirichlet(alpha) (Hsu et al. 2019);
               // small alpha = strong label skew, large alpha = close to IID
};

struct PartitionSpec {
  PartitionScheme scheme = PartitionScheme::Contiguous;
  int shards_per_worker = 2;
  double dirichlet_alpha = 0.5;
};

// Row indices per worker; every row lands in exactly one partition (a Dirichlet partition may be
// empty). Deterministic in `key`.
std::vector<std::vector<int>> partition_rows(const Dataset& train, int workers, const PartitionSpec& spec,
                                             std::uint64_t key);

// Contiguous/shuffled slicing of n rows, independent of labels.
std::vector<std::vector<int>> partition_rows(int n, int workers, PartitionScheme scheme, std::uint64_t key);

// CSV "worker,rows,class_0,…": how many rows of each class every worker holds.
std::string class_histogram_csv(const Dataset& train, const std::vector<std::vector<int>>& partitions);

}  // namespace dmlsim
