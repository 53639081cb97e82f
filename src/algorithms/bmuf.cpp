#include "algorithms/bmuf.hpp"

#include "algorithms/ma.hpp"
#include "algorithms/registry.hpp"

namespace dmlsim {

BmufParams::BmufParams(const AlgorithmParams& params)
    : mu(params.real("mu")), zeta(params.real("zeta")), nesterov(params.choice("momentum") == "nesterov"),
      cntk_filter(params.choice("filter") == "cntk"), random_initial_delta(params.choice("delta-init") == "random") {}

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

const AlgorithmInfo& bmuf_algorithm() {
  static const AlgorithmInfo info{
      "bmuf",
      "block-wise model-update filtering: an MA block, then block momentum on the averaged update",
      {learning_rate_attribute(), local_steps_attribute(),
       real_attribute("mu", 0.9, {0.0, 1.0, true}, "block momentum"),
       real_attribute("zeta", 0.1, {0.0, 1e6}, "block learning rate"),
       choice_attribute("momentum", "classical", {"classical", "nesterov"},
                        "next block starts from w (classical) or w + mu·delta (nesterov)"),
       choice_attribute("filter", "plain", {"plain", "cntk"}, "filter gain zeta (plain) or (1 - mu)·zeta (cntk)"),
       choice_attribute("delta-init", "zero", {"zero", "random"},
                        "initial delta: zero (the paper) or uniform in [-1, 1) (the seed)")},
      [](const AlgorithmSetup& setup, const Vector& initial) { return std::make_unique<BmufServer>(setup, initial); },
      [](const AlgorithmSetup& setup, int, const Vector&) { return std::make_unique<MaWorker>(MaParams(setup.params)); },
      local_steps_flops,
      {}};
  return info;
}

}  // namespace dmlsim
