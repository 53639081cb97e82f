#include "algorithms/streaming_diloco.hpp"

#include "algorithms/registry.hpp"
#include "util/rng.hpp"

#include <fmt/format.h>

namespace dmlsim {

namespace {

// Random-k draws of the fragments' compressors: a stream of their own, keyed by sender (-1 + 1 = 0:
// the server) and fragment.
constexpr auto kFragmentCompressionStream = static_cast<Stream>(0x73747265);  // "stre", clear of the enum's values

// One compressor per fragment, each keeping its share of the k values; none when lossless.
std::vector<Compressor> fragment_compressors(const AlgorithmSetup& setup, const FragmentLayout& layout, int sender,
                                             bool error_feedback) {
  const auto total = static_cast<std::uint64_t>(layout.parameters);
  std::vector<Compressor> compressors;
  if (setup.compression.lossless(total)) return compressors;
  for (int p = 0; p < layout.fragments; ++p) {
    CompressionSpec spec = setup.compression;
    const auto size = static_cast<std::uint64_t>(layout.size(p));
    spec.k = (setup.compression.k * size + total - 1) / total;  // as CompressionSpec::payload_bytes counts them
    compressors.emplace_back(spec,
                             derive_key(setup.seed, kFragmentCompressionStream,
                                        {static_cast<std::uint64_t>(sender + 1), static_cast<std::uint64_t>(p)}),
                             error_feedback);
  }
  return compressors;
}

// reference + C(target - reference) on fragment p's range: what the receiver of the fragment sees.
void transmit_fragment(Compressor& compressor, const FragmentLayout& layout, int p, const Vector& target,
                       const Vector& reference, Vector& out, int round) {
  const auto first = layout.first(p), size = layout.size(p);
  out.segment(first, size) =
      reference.segment(first, size) +
      compressor.transmit(target.segment(first, size) - reference.segment(first, size), static_cast<std::uint64_t>(round));
}

std::string check_schedule(const AlgorithmParams& params, int /*workers*/) {
  const int steps = params.integer("local-steps"), fragments = params.integer("fragments"),
            overlap = params.integer("overlap");
  if (steps % fragments != 0)
    return fmt::format("attribute 'fragments': P = {} must divide local-steps H = {} (a round is H / P inner steps)",
                       fragments, steps);
  if (overlap >= steps / fragments)
    return fmt::format("attribute 'overlap': tau = {} must be below H / P = {} (one fragment in flight at a time)", overlap,
                       steps / fragments);
  return "";
}

}  // namespace

Eigen::Index FragmentLayout::first(int fragment) const {
  const Eigen::Index p = fragment, n = fragments;
  return p * (parameters / n) + std::min(p, parameters % n);
}

StreamingParams::StreamingParams(const AlgorithmParams& params)
    : inner(params), fragments(params.integer("fragments")), overlap(params.integer("overlap")),
      mix(params.real("mix")), round_steps(inner.local_steps / fragments) {}

StreamingDilocoServer::StreamingDilocoServer(const AlgorithmSetup& setup, const Vector& initial)
    : params_(setup.params), layout_{initial.size(), params_.fragments}, w_(initial),
      outer_(static_cast<std::size_t>(params_.fragments), Optimizer(outer_spec(setup.params))),
      compressors_(fragment_compressors(setup, layout_, -1, false)), view_(initial) {}

void StreamingDilocoServer::aggregate(const std::vector<Upload>& uploads) {
  const int p = params_.fragment_of(round_);
  const auto first = layout_.first(p), size = layout_.size(p);
  // Delta_p = w_g,p - mean of the uploads' fragments, summed in worker order as mean_of_uploads().
  Vector sum = Vector::Zero(size);
  for (const auto& upload : uploads) sum += upload.values.segment(first, size);
  Vector fragment = w_.segment(first, size);
  outer_[static_cast<std::size_t>(p)].step(fragment, fragment - sum / static_cast<double>(uploads.size()));
  w_.segment(first, size) = fragment;
  if (!compressors_.empty()) transmit_fragment(compressors_[static_cast<std::size_t>(p)], layout_, p, w_, view_, view_, round_);
  ++round_;
}

StreamingDilocoWorker::StreamingDilocoWorker(const AlgorithmSetup& setup, int worker, const Vector& initial)
    : params_(setup.params), layout_{initial.size(), params_.fragments}, optimizer_(params_.inner.optimizer),
      local_(initial), compressors_(fragment_compressors(setup, layout_, worker, true)) {}

void StreamingDilocoWorker::start(int round) {
  if (started_ == round) return;
  started_ = round;
  samples_ = 0;
  if (params_.inner.reset_each_round) optimizer_.reset();
}

void StreamingDilocoWorker::run_ahead(int round, LocalTrainer& trainer) {
  if (round < 2 || ahead_ == round) return;  // the first round has nothing in flight to overlap
  start(round);
  samples_ += inner_steps(optimizer_, local_, round, 0, params_.overlap, trainer, grad_);
  ahead_ = round;
}

void StreamingDilocoWorker::run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) {
  int first_step = 0;
  if (round >= 2) {
    run_ahead(round, trainer);
    first_step = params_.overlap;
    // The previous round's fragment is back from the server: mix it into the local model.
    const int p = params_.fragment_of(round - 1);
    const auto first = layout_.first(p), size = layout_.size(p);
    if (params_.mix == 0)
      local_.segment(first, size) = received.segment(first, size);  // exactly DiLoCo's restart
    else
      local_.segment(first, size) = params_.mix * local_.segment(first, size) + (1 - params_.mix) * received.segment(first, size);
  }
  start(round);
  samples_ += inner_steps(optimizer_, local_, round, first_step, params_.round_steps, trainer, grad_);
  upload.values = local_;
  if (!compressors_.empty()) {
    const int p = params_.fragment_of(round);
    transmit_fragment(compressors_[static_cast<std::size_t>(p)], layout_, p, local_, received, upload.values, round);
  }
  upload.samples = samples_;
}

const AlgorithmInfo& streaming_diloco_algorithm() {
  static const AlgorithmInfo info = [] {
    auto attributes = inner_optimizer_attributes();
    for (auto& attribute : outer_optimizer_attributes()) attributes.push_back(std::move(attribute));
    attributes.push_back(integer_attribute("fragments", 1, {1, 1 << 20},
                                           "P: fragments synchronised in turn, one per round of H / P inner steps"));
    attributes.push_back(integer_attribute("overlap", 1, {0, 1 << 20},
                                           "tau: inner steps of the next round that run while a fragment travels (< H / P)"));
    attributes.push_back(real_attribute("mix", 0.5, {0.0, 1.0},
                                        "alpha: the fragment becomes alpha·local + (1 - alpha)·outer (0: DiLoCo's restart)"));
    AlgorithmInfo algorithm{
        "streaming-diloco",
        "Streaming DiLoCo: P fragments synchronised in turn, each exchange overlapping tau inner steps, then mixed",
        std::move(attributes),
        [](const AlgorithmSetup& setup, const Vector& initial) {
          return std::make_unique<StreamingDilocoServer>(setup, initial);
        },
        [](const AlgorithmSetup& setup, int worker, const Vector& initial) {
          return std::make_unique<StreamingDilocoWorker>(setup, worker, initial);
        },
        [](const AlgorithmParams& params, const RoundCost& cost) {
          return inner_steps_flops(params, cost) / params.integer("fragments");
        },
        {}};
    algorithm.topologies = {"parameter-server", "ring-allreduce"};
    algorithm.check_workers = check_schedule;
    algorithm.streaming = [](const AlgorithmParams& params) {
      return Streaming{params.integer("fragments"), params.integer("overlap"),
                       params.integer("local-steps") / params.integer("fragments")};
    };
    return algorithm;
  }();
  return info;
}

}  // namespace dmlsim
