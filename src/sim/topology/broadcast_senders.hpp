// Broadcast sender groups: how a star's server sends one vector to K workers without paying
// SimGrid 3.32's O(K) per finished comm of an actor holding K of them (O(K²) per round). Actors on
// the server's host each post the broadcasts of a group of at most kWorkersPerSender workers, so
// no actor holds more than that many comms. The server lets them post one group after the other,
// so the transfers start at the same instant and in the same order (worker order) as if the
// server posted them: the simulated times are the same. Used by the parameter-server star and the
// streaming exchange's server.
#pragma once

#include "sim/sim_context.hpp"

#include <cstdint>
#include <memory>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Mailbox.hpp>
#include <simgrid/s4u/Semaphore.hpp>
#include <vector>

namespace dmlsim {

constexpr std::size_t kWorkersPerSender = 64;

// What the server publishes for a round's broadcast, and the signals between it and its senders.
struct BroadcastBoard {
  int round = 0;
  double sent_at = 0;
  std::uint64_t bytes = 0;  // of each broadcast message
  std::shared_ptr<const Vector> values;
  std::vector<int> recipients;                   // this round's, in posting order; sender g posts group g
  std::vector<simgrid::s4u::Mailbox*> outboxes;  // "worker-k" by worker
  // Backup workers: a straggler's broadcast must not hold up the next round's, so the senders do
  // not wait for their broadcasts to arrive (they drop them from their list once arrived).
  bool senders_wait = true;
  bool report_delivery = false;                       // the server waits for the arrivals
  std::vector<simgrid::s4u::SemaphorePtr> go;         // per sender: post this round's broadcasts
  std::vector<simgrid::s4u::SemaphorePtr> posted;     // per sender: they are posted
  std::vector<simgrid::s4u::SemaphorePtr> delivered;  // per sender: they arrived (if report_delivery)

  static std::size_t senders_for(std::size_t recipients) { return (recipients + kWorkersPerSender - 1) / kWorkersPerSender; }
  // Every worker 0..workers-1 a recipient, through its mailbox worker_mailbox(k).
  void address_all(std::size_t workers);
  // Called by the server: has the senders post `values` (messages of `bytes`) to the recipients,
  // group after group, and with report_delivery waits until they have all arrived.
  void broadcast(int round, std::uint64_t message_bytes, std::shared_ptr<const Vector> vector);
};

// Creates the daemon sender actors on `host`, enough for `workers` recipients.
void create_broadcast_senders(SimContext& context, BroadcastBoard& board, simgrid::s4u::Host* host, std::size_t workers);

}  // namespace dmlsim
