// Mini-batch selection from one worker's partition.
#pragma once

#include "util/rng.hpp"

#include <vector>

namespace dmlsim {

enum class BatchRule {
  Bernoulli,  // each row independently with probability `fraction` (Spark's sample(False, f, seed))
  Fixed,      // `size` rows drawn without replacement (the whole partition if it is smaller)
  Full,       // the whole partition
};

struct BatchSpec {
  BatchRule rule = BatchRule::Bernoulli;
  double fraction = 0.1;
  int size = 32;
  // The seed calls sample(False, 0.1, 42 + t) inside MA's local loop, so all M local steps of
  // round t see the same batch. `same_batch_within_round` reproduces that; by default every local
  // step draws a fresh batch.
  bool same_batch_within_round = false;
};

// Draws batches into a buffer it owns, so a training step allocates nothing once warmed up.
class BatchSampler {
 public:
  BatchSampler(BatchSpec spec, const std::vector<int>& partition);
  const std::vector<int>& draw(Rng& rng);
  // Expected batch size, for reporting.
  double expected_size() const;

 private:
  BatchSpec spec_;
  const std::vector<int>& partition_;
  std::vector<int> batch_;
  std::vector<int> scratch_;  // permutation buffer for Fixed
};

}  // namespace dmlsim
