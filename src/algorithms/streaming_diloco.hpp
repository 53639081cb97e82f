// Streaming DiLoCo (Douillard et al. 2025): DiLoCo whose parameters are split into P contiguous
// fragments that are synchronised one at a time, at staggered offsets, with the exchange of a
// fragment overlapping the next inner steps.
//
// A round is H / P inner steps and synchronises one fragment, p = (round - 1) mod P, so each
// fragment is synchronised every H steps, fragment p at offset (p + 1)·H / P. At the end of a
// round every worker uploads its local values of that fragment; the server forms the fragment's
// pseudo-gradient Delta_p = w_g,p - (1/K) Σ_k w_k,p (summed in worker order) and takes one step of
// the fragment's own outer optimiser (the outer optimisers of DiLoCo, state per fragment). Overlap
// tau: the workers run the next round's first tau inner steps while the fragment travels, then mix
// the outer result into their local fragment, w_k,p <- alpha·w_k,p + (1 - alpha)·w_g,p, and run
// the round's other steps. Identity: P = 1, tau = 0, alpha = 0 is DiLoCo (tests/test_streaming_diloco).
//
// With <compression>, a fragment's upload is the receiver's view plus the compressed change, and
// the server's broadcast of a fragment likewise (as compression/compressed_roles.hpp does for
// whole vectors), with one compressor per fragment: error feedback per fragment, and a fragment of
// n_p of n parameters keeps ceil(k·n_p / n) values when sparsified.
#pragma once

#include "algorithms/algorithm.hpp"
#include "algorithms/diloco.hpp"

namespace dmlsim {

// The parameters split into P contiguous fragments whose sizes differ by at most one (the first
// n mod P take one more), as ring all-reduce chunks are.
struct FragmentLayout {
  Eigen::Index parameters = 0;
  int fragments = 1;
  Eigen::Index first(int fragment) const;
  Eigen::Index size(int fragment) const { return first(fragment + 1) - first(fragment); }
};

struct StreamingParams {
  explicit StreamingParams(const AlgorithmParams& params);
  InnerParams inner;
  int fragments;     // P
  int overlap;       // tau
  double mix;        // alpha
  int round_steps;   // H / P
  int fragment_of(int round) const { return (round - 1) % fragments; }
};

class StreamingDilocoServer final : public ServerRole {
 public:
  StreamingDilocoServer(const AlgorithmSetup& setup, const Vector& initial);
  // The workers' view of the global parameters: exact, or each fragment as last compressed.
  const Vector& broadcast() override { return compressors_.empty() ? w_ : view_; }
  void aggregate(const std::vector<Upload>& uploads) override;
  const Vector& model() const override { return w_; }

 private:
  StreamingParams params_;
  FragmentLayout layout_;
  Vector w_;
  std::vector<Optimizer> outer_;  // one per fragment
  std::vector<Compressor> compressors_;  // one per fragment, when the payloads are compressed
  Vector view_;
  int round_ = 1;
};

class StreamingDilocoWorker final : public WorkerRole {
 public:
  StreamingDilocoWorker(const AlgorithmSetup& setup, int worker, const Vector& initial);
  void run_ahead(int round, LocalTrainer& trainer) override;
  void run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) override;

 private:
  void start(int round);
  StreamingParams params_;
  FragmentLayout layout_;
  Optimizer optimizer_;
  Vector local_;  // w_k
  std::vector<Compressor> compressors_;  // one per fragment, when the payloads are compressed
  Vector grad_;
  int started_ = 0;  // the round whose steps have begun
  int ahead_ = 0;    // the round whose overlap steps are done
  double samples_ = 0;
};

}  // namespace dmlsim
