#include "compression/compressed_roles.hpp"

#include "util/rng.hpp"

namespace dmlsim {

namespace {

// Random-k draws: a stream of their own, keyed by sender (-1 + 1 = 0: the server) and message.
constexpr auto kRandomKStream = static_cast<Stream>(0x636f6d70);  // "comp", clear of the enum's values

std::uint64_t sender_key(std::uint64_t seed, int sender) {
  return derive_key(seed, kRandomKStream, {static_cast<std::uint64_t>(sender + 1)});
}

class CompressedServer final : public ServerRole {
 public:
  CompressedServer(std::unique_ptr<ServerRole> inner, const CompressionSpec& spec, const Vector& initial,
                   std::uint64_t seed)
      : inner_(std::move(inner)), compressor_(spec, sender_key(seed, -1), false), view_(initial) {}

  // Idempotent within a round: the server-less topologies ask once per worker.
  const Vector& broadcast() override {
    if (stale_) {
      view_ += compressor_.transmit(inner_->broadcast() - view_, static_cast<std::uint64_t>(round_++));
      stale_ = false;
    }
    return view_;
  }
  void aggregate(const std::vector<Upload>& uploads) override {
    inner_->aggregate(uploads);
    stale_ = true;
  }
  const Vector& model() const override { return inner_->model(); }
  // Who takes part and how many uploads count are the algorithm's decisions, not the payload's.
  std::vector<int> participants(int round, int workers) override { return inner_->participants(round, workers); }
  int uploads_needed(int participants) const override { return inner_->uploads_needed(participants); }
  bool samples_clients() const override { return inner_->samples_clients(); }

 private:
  std::unique_ptr<ServerRole> inner_;
  Compressor compressor_;
  Vector view_;  // what every worker holds: b̂
  bool stale_ = true;
  int round_ = 0;
};

class CompressedWorker final : public WorkerRole {
 public:
  CompressedWorker(std::unique_ptr<WorkerRole> inner, const CompressionSpec& spec, std::uint64_t seed, int worker)
      : inner_(std::move(inner)), compressor_(spec, sender_key(seed, worker)) {}

  void run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) override {
    inner_->run_round(round, received, trainer, upload);
    const auto message = static_cast<std::uint64_t>(round);
    if (inner_->uploads_a_model())
      upload.values = received + compressor_.transmit(upload.values - received, message);
    else  // a gradient or change: the server holds nothing it could be a change from
      upload.values = compressor_.transmit(upload.values, message);
  }
  bool uploads_a_model() const override { return inner_->uploads_a_model(); }

 private:
  std::unique_ptr<WorkerRole> inner_;
  Compressor compressor_;
};

}  // namespace

std::unique_ptr<ServerRole> compress_server(std::unique_ptr<ServerRole> inner, const CompressionSpec& spec,
                                            const Vector& initial, std::uint64_t seed) {
  if (spec.lossless(static_cast<std::uint64_t>(initial.size()))) return inner;
  return std::make_unique<CompressedServer>(std::move(inner), spec, initial, seed);
}

std::unique_ptr<WorkerRole> compress_worker(std::unique_ptr<WorkerRole> inner, const CompressionSpec& spec,
                                            const Vector& initial, std::uint64_t seed, int worker) {
  if (spec.lossless(static_cast<std::uint64_t>(initial.size()))) return inner;
  return std::make_unique<CompressedWorker>(std::move(inner), spec, seed, worker);
}

}  // namespace dmlsim
