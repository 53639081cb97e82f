// What a run produced: one row per evaluation, per-worker time accounting, the final model; and
// the time-to-accuracy computation (DAWNBench: the first evaluation at or above the target).
#pragma once

#include "data/dataset.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dmlsim {

// Messages sent so far in a run, counted when each is sent.
// Bytes are also split by where they travel: between hosts of one platform zone (datacenter), or
// between zones (over the WAN, what a geo-distributed run pays for).
struct Traffic {
  std::uint64_t bytes = 0;
  std::uint64_t messages = 0;
  std::uint64_t intra_zone_bytes = 0;
  std::uint64_t inter_zone_bytes = 0;
};

struct RoundRow {
  int round = 0;            // 0 = the initial model
  double sim_time = 0;      // simulated seconds (SimGrid's clock)
  double test_accuracy = 0;
  double test_loss = 0;
  double train_loss = 0;
  std::uint64_t bytes_sent = 0;     // cumulative, all messages of the run
  std::uint64_t messages_sent = 0;  // cumulative
  std::uint64_t bytes_intra_zone = 0;  // cumulative, of bytes_sent: inside one platform zone
  std::uint64_t bytes_inter_zone = 0;  // cumulative, of bytes_sent: between zones (WAN)
  double energy = 0;  // joules consumed so far by the run's hosts and the links (with <energy>)
  // Mean over workers of the time booked so far as computing and as communicating (the rest of
  // sim_time is waiting), so the breakdown can be read up to any evaluation, e.g. a target's.
  double compute_time = 0, comm_time = 0;
  int participants = 0;  // workers whose uploads the round aggregated (with <failures>)
  // Decentralized runs: mean distance of the workers' models from their average (1/K) Σ ‖x_k − x̄‖.
  std::optional<double> consensus_distance = std::nullopt;
};

struct WorkerStats {
  int worker = 0;
  std::string host;
  double compute_time = 0;  // in execute()
  double comm_time = 0;     // own transfers in flight (upload, and the broadcast once it was sent)
  double wait_time = 0;     // idle: waiting for the server's next broadcast to be sent
  // With <failures>: its host was down, from its last booked instant before the failure (the work
  // under way is lost with it) to its actor's restart, or to the end of the run.
  double down_time = 0;
  double flops = 0;
  std::uint64_t samples = 0;  // rows processed
};

struct RunRecord {
  std::vector<RoundRow> rows;
  std::vector<WorkerStats> workers;
  Vector final_model;
  int rounds_done = 0;
  double sim_time = 0;
  std::string stop_reason;  // "rounds", "target-accuracy", "max-time"
  // Asynchronous runs: entry i counts the server updates applied with staleness i (empty otherwise).
  std::vector<std::uint64_t> staleness_histogram;
};

struct TargetHit {
  double target = 0;
  std::optional<RoundRow> first;  // empty: never reached
};

// EWMA as the seed smooths accuracy curves: s0 = a0, s_i = alpha·s_{i-1} + (1-alpha)·a_i.
std::vector<double> ewma(const std::vector<double>& values, double alpha);

// The same smoothing per round of training, not per evaluation: with evaluations every N rounds,
// s_i = alpha^N·s_{i-1} + (1-alpha^N)·a_i, so the curve does not lag N times further behind.
// Identical to ewma() when every round is evaluated.
std::vector<double> ewma_over_rounds(const std::vector<RoundRow>& rows, double alpha);

// For each target, the first row whose accuracy (raw, or EWMA-smoothed over rounds when alpha is
// given) is at or above the target.
std::vector<TargetHit> time_to_accuracy(const std::vector<RoundRow>& rows, const std::vector<double>& targets,
                                        std::optional<double> ewma_alpha = std::nullopt);

}  // namespace dmlsim
