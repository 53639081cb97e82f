// The parameter-server pattern as SimGrid actors: one server (the seed's driver) and K workers.
// Mailboxes: "server" (uploads) and "worker-k" (broadcasts). Each mailbox's reader is made its
// permanent receiver, so a send starts at once, as over an open TCP connection, instead of
// waiting for the receive to be posted (which would serialise the K uploads).
#pragma once

#include "experiment/experiment.hpp"
#include "report/run_record.hpp"

#include <simgrid/s4u/Host.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace dmlsim {

// Shared by the actors of one simulation; owned by the Simulation facade.
struct SimContext {
  const Experiment* experiment = nullptr;
  std::uint64_t message_bytes = 0;  // simulated size of every message
  int eval_every = 1;
  bool charge_eval = false;
  std::optional<double> stop_accuracy;
  std::optional<double> max_time;
  // Benchmark baseline: the same messages and FLOPs (bare_round_flops per worker and round), but
  // no training, aggregation or evaluation — what SimGrid alone costs for this run.
  bool bare = false;
  double bare_round_flops = 0;

  RunRecord record;        // filled by the actors
  std::uint64_t bytes_sent = 0;     // every message, both directions, counted when sent
  std::uint64_t messages_sent = 0;
  void count_message() {
    bytes_sent += message_bytes;
    ++messages_sent;
  }
  bool server_finished = false;
  std::string failure;     // set when the run cannot go on (divergence)
};

// Creates the server on `server` and worker k on `workers[k]`.
void create_actors(SimContext& context, simgrid::s4u::Host* server, const std::vector<simgrid::s4u::Host*>& workers);

}  // namespace dmlsim
