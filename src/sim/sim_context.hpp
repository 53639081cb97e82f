// The state the actors of one simulation share (owned by the Simulation facade), the per-worker
// time ledger, and the run monitor's view of the simulated clock.
#pragma once

#include "experiment/experiment.hpp"
#include "experiment/run_monitor.hpp"
#include "report/run_record.hpp"
#include "sim/message.hpp"
#include "sim/slowdown.hpp"

#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dmlsim {

class FailurePlan;

struct SimContext {
  const Experiment* experiment = nullptr;
  MessageSizes sizes;
  // Benchmark baseline: bare roles (sim/bare_roles.hpp) instead of the algorithm's.
  bool bare = false;
  double bare_round_flops = 0;

  std::unique_ptr<ServerRole> server;  // the algorithm's aggregation, whatever the topology
  std::vector<Upload> uploads;         // slot k: worker k's upload of the current round
  RunRecord record;                    // rows by the monitor, worker stats by the actors
  std::unique_ptr<RunMonitor> monitor;
  bool finished = false;               // the monitor ended the run

  // Zone (datacenter) of each actor's host, for the intra/inter-zone byte split.
  std::vector<int> worker_zone;
  int server_zone = 0;
  Traffic traffic;
  std::function<double()> energy_probe;  // joules so far, with <energy> (src/world/energy.hpp)
  FailurePlan* failures = nullptr;       // with <failures> (src/world/failures.hpp)
  // Per worker: the simulated time up to which its ledger has classified its time.
  std::vector<double> accounted_until;

  Slowdown slowdown;  // <workers slowdown>: stragglers

  std::unique_ptr<WorkerRole> make_worker_role(int worker) const;
  // Worker `worker` computes `flops` on its host: the simulated time, slowed down as the scenario says.
  void compute(int worker, double flops);
  void count(const Message& message, int from_zone, int to_zone);
  WorkerStats& stats(int worker) { return record.workers[static_cast<std::size_t>(worker)]; }
};

// The simulated clock, evaluation charged to the calling actor's host, and the traffic so far.
class SimProbe final : public RunProbe {
 public:
  explicit SimProbe(const SimContext& context) : ctx_(context) {}
  double now() override;
  void charge_evaluation(double flops) override;
  Traffic traffic() override { return ctx_.traffic; }
  double energy() override { return ctx_.energy_probe ? ctx_.energy_probe() : 0; }
  WorkerTimes worker_times() override;

 private:
  const SimContext& ctx_;
};

// Splits a worker's time into compute, communication and waiting, interval by interval, so the
// three add up to the time the worker has lived (the facade books what is left of the run after a
// worker's last entry as waiting).
class TimeLedger {
 public:
  TimeLedger(SimContext& context, int worker);
  // A message sent at `sent_at` has arrived: idle until it was sent, in transfer since.
  void received(double sent_at);
  void computed();      // since the last entry: compute
  void computed_until(double until);  // since the last entry until `until` (a past instant): compute
  void communicated();  // since the last entry: own transfers
  void waited();        // since the last entry: idle
  // Runs `flops` on the worker's host, slowed down as <workers slowdown> says (not booked: the
  // caller books it with computed() or computed_until()).
  void execute(double flops);
  WorkerStats& stats() { return stats_; }

 private:
  SimContext& ctx_;
  int worker_;
  WorkerStats& stats_;
  double& since_;
};

// A worker's local work in a round: the role's computation, then its FLOPs executed on the worker's
// host, booked in the ledger.
void compute_round(WorkerRole& role, int round, const Vector& received, LocalTrainer& trainer, Upload& upload,
                   TimeLedger& ledger);

std::string worker_mailbox(int worker);
// Where a worker posts its uploads to the parameter server (one mailbox per worker: no shared queue).
std::string upload_mailbox(int worker);

// A worker's end of the network for the server-less topologies: sends to other workers' mailboxes,
// receives on its own (permanent receiver), matching messages by tag — a message of a later step
// that arrives early waits in a stash until asked for.
class Peer {
 public:
  Peer(SimContext& context, int worker);
  // Not noexcept: its simcalls can meet the kill of an actor whose host goes down as it ends, and
  // SimGrid's ForcefulKillException must then reach the actor's top like any simcall's.
  ~Peer() noexcept(false);
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  int worker() const { return worker_; }
  SimContext& context() { return ctx_; }
  TimeLedger& ledger() { return ledger_; }

  simgrid::s4u::CommPtr send(int to, int round, int tag, std::uint64_t bytes);
  // A send nobody waits for, carrying `values` (gossip: a model snapshot); it may still be in
  // flight when the run ends.
  void send_detached(int to, int round, int tag, std::uint64_t bytes, std::shared_ptr<const Vector> values);
  void finish(const simgrid::s4u::CommPtr& send);               // waits: communication time
  void finish(std::vector<simgrid::s4u::CommPtr>& sends);
  std::unique_ptr<Message> receive(int round, int tag);          // blocks until that message is in
  // Like receive(), but gives up (null) after `timeout` seconds of waiting, or when the transfer
  // fails (its sender's host or a link went down under it): the time is booked as waiting.
  std::unique_ptr<Message> receive_within(int round, int tag, double timeout);
  // Forgets the stashed messages of earlier rounds, and of `round` with a tag below `tag` (an
  // exchange given up and started again under new tags).
  void drop_older(int round, int tag);

 private:
  SimContext& ctx_;
  int worker_;
  simgrid::s4u::Mailbox* inbox_;
  TimeLedger ledger_;
  std::deque<std::unique_ptr<Message>> stash_;
  simgrid::s4u::CommPtr pending_;  // receive_within()'s receive, posted until a message comes
  Message* arrived_ = nullptr;      // where it puts the message

  std::unique_ptr<Message> from_stash(int round, int tag);
  std::unique_ptr<Message> message_to(int to, int round, int tag, std::uint64_t bytes,
                                      std::shared_ptr<const Vector> values);
};

}  // namespace dmlsim
