// BMUF (block-wise model-update filtering, Chen & Huo 2016). A block is one MA round; with w_avg
// the mean of the K local models after the block and w_start the point the block started from:
//   delta <- mu · delta + gain · (w_avg - w_start),  gain = zeta (the paper's and the seed's form)
//                                                    or (1 - mu) · zeta (the CNTK/fairseq form);
//   w <- w + delta.
// Classical block momentum starts the next block from w; Nesterov block momentum from
// w + mu · delta. (With classical momentum w_start = w, exactly ALGORITHMS.md's rule.)
// delta starts at zero as in the paper, or uniform in [-1, 1) as the seed did, on request.
// Identity: mu = 0, zeta = 1 gives MA.
#pragma once

#include "algorithms/algorithm.hpp"

namespace dmlsim {

struct BmufParams {
  explicit BmufParams(const AlgorithmParams& params);
  double mu;
  double zeta;
  bool nesterov;
  bool cntk_filter;
  bool random_initial_delta;  // the seed's oddity: delta uniform in [-1, 1)
};

class BmufServer final : public ServerRole {
 public:
  BmufServer(const AlgorithmSetup& setup, Vector initial);
  const Vector& broadcast() override { return start_; }
  void aggregate(const std::vector<Upload>& uploads) override;
  const Vector& model() const override { return w_; }

 private:
  BmufParams params_;
  Vector w_;
  Vector delta_;
  Vector start_;  // where the current block started
};

}  // namespace dmlsim
