// SSGD with backup workers (Chen et al. 2016, "Revisiting distributed synchronous SGD"): every
// round all K workers compute g_k(w), but the server aggregates only the first K − b uploads to
// arrive (in simulated time; ties by worker id) as SSGD with batch means does, and drops the rest.
// A dropped worker's late upload is discarded and it starts on the newest broadcast.
// Identity: b = 0 is SSGD (batch means), bit for bit.
#pragma once

#include "algorithms/ssgd.hpp"

namespace dmlsim {

class SsgdBackupServer final : public ServerRole {
 public:
  SsgdBackupServer(const SsgdParams& params, int backup, Vector initial)
      : ssgd_(params, std::move(initial)), backup_(backup) {}
  const Vector& broadcast() override { return ssgd_.broadcast(); }
  void aggregate(const std::vector<Upload>& uploads) override { ssgd_.aggregate(uploads); }
  const Vector& model() const override { return ssgd_.model(); }
  int uploads_needed(int participants) const override { return participants - backup_; }

 private:
  SsgdServer ssgd_;
  int backup_;
};

// SSGD's parameters (batch means) with the learning rate of an algorithm that declares `eta`.
SsgdParams batch_means_ssgd(const AlgorithmParams& params);

}  // namespace dmlsim
