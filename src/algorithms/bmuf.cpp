#include "algorithms/bmuf.hpp"

namespace dmlsim {

BmufServer::BmufServer(const AlgorithmSetup& setup, Vector initial) : params_(setup.params), w_(std::move(initial)) {
  delta_ = params_.random_initial_delta
               ? initial_parameters({InitRule::Uniform, 0.0}, w_.size(), derive_key(setup.seed, Stream::BmufDelta))
               : Vector::Zero(w_.size());
  start_ = w_;
  // A Nesterov start uses the momentum the first block inherits (non-zero with the seed's delta).
  if (params_.nesterov) start_ += params_.mu * delta_;
}

void BmufServer::aggregate(const std::vector<Upload>& uploads) {
  const double gain = params_.cntk_filter ? (1.0 - params_.mu) * params_.zeta : params_.zeta;
  // delta' = mu·delta + gain·(w_avg - start) and w' = w + delta', evaluated as
  //   w' = (1 - gain)·start + gain·w_avg + (w - start) + mu·delta,
  // where (w - start) + mu·delta is mu·delta for classical momentum (start = w) and 0 for Nesterov
  // (start = w + mu·delta). Same numbers, but mu = 0, zeta = 1 yields w_avg exactly, as MA does.
  Vector next = (1.0 - gain) * start_ + gain * mean_of_uploads(uploads);
  if (!params_.nesterov) next += params_.mu * delta_;
  delta_ = next - w_;
  w_ = std::move(next);
  start_ = w_;
  if (params_.nesterov) start_ += params_.mu * delta_;
}

}  // namespace dmlsim
