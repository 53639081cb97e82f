#include "model/batch.hpp"

#include <algorithm>

namespace dmlsim {

BatchSampler::BatchSampler(BatchSpec spec, const std::vector<int>& partition)
    : spec_(spec), partition_(partition), scratch_(partition) {
  batch_.reserve(partition.size());
}

const std::vector<int>& BatchSampler::draw(Rng& rng) {
  batch_.clear();
  switch (spec_.rule) {
    case BatchRule::Bernoulli:
      for (int row : partition_)
        if (rng.uniform() < spec_.fraction) batch_.push_back(row);
      break;
    case BatchRule::Fixed: {
      const std::size_t n = scratch_.size();
      const std::size_t b = std::min<std::size_t>(static_cast<std::size_t>(spec_.size), n);
      // Partial Fisher–Yates from a fresh copy of the partition order, so the draw depends only
      // on the generator's state and not on earlier draws.
      std::copy(partition_.begin(), partition_.end(), scratch_.begin());
      for (std::size_t i = 0; i < b; ++i) std::swap(scratch_[i], scratch_[i + rng.below(n - i)]);
      batch_.assign(scratch_.begin(), scratch_.begin() + static_cast<long>(b));
      break;
    }
    case BatchRule::Full:
      batch_.assign(partition_.begin(), partition_.end());
      break;
  }
  return batch_;
}

double BatchSampler::expected_size() const {
  const auto n = static_cast<double>(partition_.size());
  switch (spec_.rule) {
    case BatchRule::Bernoulli: return spec_.fraction * n;
    case BatchRule::Fixed: return std::min(n, static_cast<double>(spec_.size));
    case BatchRule::Full: return n;
  }
  return n;
}

}  // namespace dmlsim
