// The parameter-server star (the seed's driver and executors): the server broadcasts its vector to
// the K workers, each works and uploads, the server aggregates. One round = 2K messages of the
// whole vector.
//
// The messaging avoids SimGrid 3.32's costs that grow with K per message: an actor pays O(its
// pending comms) for each of them that finishes, and detached comms (host-to-host sendto ones
// included) are all pending on the engine's maestro, so a server that posts K broadcasts pays
// O(K²) per round however it posts them; and matching a receive in a shared mailbox shifts its
// whole queue. Hence:
// - broadcast senders (broadcast_senders.hpp): actors on the server's host, each posting the
//   broadcasts of a group of at most kWorkersPerSender workers, so no actor holds more than that
//   many comms, at the same instants and in the same order as if the server posted them;
// - mailboxes "worker-k" (broadcasts) and "upload-k" (worker k's uploads), each with its reader
//   as permanent receiver, so a send starts at once, as over an open TCP connection, instead of
//   waiting for its receive to be posted (which would serialise the K uploads). The server takes
//   the uploads in worker order, the order the aggregate sums in, and folds each as soon as it
//   and all before it are in.
// Algorithms that aggregate only some workers' uploads (client sampling, backup workers) need
// arrival order across workers: they take the partial path. The senders post the broadcasts to the
// round's participants only, and each worker, as it posts an upload to its own mailbox, appends
// its id to an arrival queue the server reads: the server takes the uploads in the order they were
// posted, as from one shared mailbox, without paying the shared mailbox's O(K) per receive.
#include "sim/comm_waits.hpp"
#include "sim/topology/broadcast_senders.hpp"
#include "sim/topology/star_messages.hpp"
#include "sim/topology/topology.hpp"

#include <algorithm>
#include <deque>
#include <fmt/format.h>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Semaphore.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

// Client sampling or backup workers: the server needs the uploads' arrival order.
bool takes_partial_path(const SimContext& ctx) {
  const int workers = static_cast<int>(ctx.uploads.size());
  return ctx.server->samples_clients() || ctx.server->uploads_needed(workers) < workers;
}

// Partial path: the workers whose uploads were posted, in posting order, and how many are queued.
struct ArrivalQueue {
  std::deque<int> workers;
  sg4::SemaphorePtr queued;
};

class ServerActor {
 public:
  ServerActor(SimContext& context, BroadcastBoard& board, ArrivalQueue& arrivals)
      : ctx_(context), board_(board), arrivals_(arrivals) {}

  void operator()() {
    const auto workers = static_cast<int>(ctx_.uploads.size());
    for (int k = 0; k < workers; ++k) {
      inboxes_.push_back(sg4::Mailbox::by_name(upload_mailbox(k)));
      inboxes_.back()->set_receiver(sg4::Actor::self());
    }
    board_.address_all(static_cast<std::size_t>(workers));
    auto& role = *ctx_.server;
    partial_ = takes_partial_path(ctx_);
    board_.senders_wait = role.uploads_needed(workers) == workers;
    board_.report_delivery = partial_ && board_.senders_wait;
    SimProbe probe(ctx_);

    ctx_.monitor->start(role.model(), probe);
    for (int round = 1;; ++round) {
      if (partial_) {
        partial_round(role, round);
      } else {
        broadcast(round, role.broadcast());
        gather(role);
      }
      if (!ctx_.monitor->after_round(round, role.model(), probe)) break;
    }
    ctx_.monitor->finish(role.model(), sg4::Engine::get_clock());
    while (next_arrival_ready()) take_next_arrival();  // late uploads of dropped workers
    for (auto* inbox : inboxes_) inbox->set_receiver(nullptr);
    ctx_.finished = true;
  }

 private:
  // Publishes the vector and has the senders post it to board_.recipients, one group after the other.
  void broadcast(int round, const Vector& values) {
    board_.broadcast(round, ctx_.sizes.whole(), std::make_shared<const Vector>(values));
  }

  // Receives the K uploads in worker order (each waits in its own mailbox until asked for) and
  // folds each into the aggregate as it is taken; the uploads themselves are in their slots.
  void gather(ServerRole& role) {
    const bool streams = role.streams();
    for (std::size_t k = 0; k < inboxes_.size(); ++k) {
      receive_unique<Message>(inboxes_[k]);
      if (streams) role.fold(ctx_.uploads[k]);
    }
    if (streams)
      role.end_round();
    else
      role.aggregate(ctx_.uploads);
  }

  // A round of an algorithm that aggregates some of the uploads: broadcast to the participants,
  // aggregate the earliest `needed` of their uploads.
  void partial_round(ServerRole& role, int round) {
    board_.recipients = role.participants(round, static_cast<int>(ctx_.uploads.size()));
    broadcast(round, role.broadcast());
    role.aggregate(first_uploads(round, role.uploads_needed(static_cast<int>(board_.recipients.size()))));
  }

  // The uploads are taken in the order they were posted, each once it has arrived.
  bool next_arrival_ready() const { return !arrivals_.workers.empty() && inboxes_[static_cast<std::size_t>(arrivals_.workers.front())]->ready(); }
  std::unique_ptr<Message> take_next_arrival() {
    arrivals_.queued->acquire();
    const auto k = static_cast<std::size_t>(arrivals_.workers.front());
    arrivals_.workers.pop_front();
    return receive_unique<Message>(inboxes_[k]);
  }

  // The uploads of this round's `needed` earliest arrivals (ties by worker id), in worker order.
  // Uploads of earlier rounds, from workers the server stopped waiting for, are dropped.
  std::vector<Upload> first_uploads(int round, int needed) {
    std::vector<Arrival> arrived;
    const auto take = [&] {
      const auto message = take_next_arrival();
      if (message->round == round) arrived.push_back({sg4::Engine::get_clock(), message->from});
    };
    while (static_cast<int>(arrived.size()) < needed) take();
    while (next_arrival_ready()) take();  // arrived at the same instant: they compete by worker id
    std::vector<Upload> uploads;
    for (int k : first_arrivals(arrived, needed)) uploads.push_back(ctx_.uploads[static_cast<std::size_t>(k)]);
    return uploads;
  }

  SimContext& ctx_;
  BroadcastBoard& board_;
  ArrivalQueue& arrivals_;
  std::vector<sg4::Mailbox*> inboxes_;
  bool partial_ = false;
};

class WorkerActor {
 public:
  WorkerActor(SimContext& context, int worker, ArrivalQueue& arrivals) : ctx_(context), worker_(worker), arrivals_(arrivals) {}

  void operator()() {
    auto* inbox = sg4::Mailbox::by_name(worker_mailbox(worker_));
    inbox->set_receiver(sg4::Actor::self());
    auto* server = sg4::Mailbox::by_name(upload_mailbox(worker_));
    const bool partial = takes_partial_path(ctx_);
    // A worker the server may stop waiting for (backup workers) starts on the newest broadcast.
    const int workers = static_cast<int>(ctx_.uploads.size());
    const bool may_fall_behind = ctx_.server->uploads_needed(workers) < workers;
    auto trainer = ctx_.experiment->make_trainer(worker_);
    auto role = ctx_.make_worker_role(worker_);
    auto& upload = ctx_.uploads[static_cast<std::size_t>(worker_)];
    TimeLedger ledger(ctx_, worker_);

    // Daemon: the simulation ends when the server does, with the workers waiting for a broadcast.
    for (;;) {
      auto message = receive_unique<Message>(inbox);
      while (may_fall_behind && inbox->ready()) message = receive_unique<Message>(inbox);
      ledger.received(message->sent_at);

      compute_round(*role, message->round, *message->values, trainer, upload, ledger);
      auto reply = message_to_server(ctx_, worker_, message->round, kUploadTag, ctx_.sizes.whole());
      const auto bytes = reply->bytes;
      if (partial) {
        arrivals_.workers.push_back(worker_);
        arrivals_.queued->release();
      }
      send_to(server, reply.release(), bytes);
      ledger.communicated();
    }
  }

 private:
  SimContext& ctx_;
  int worker_;
  ArrivalQueue& arrivals_;
};

class ParameterServer final : public StarTopology {
 public:
  void create_actors(SimContext& context, const Placed& placed) override {
    const auto workers = placed.workers.size();
    arrivals_.queued = sg4::Semaphore::create(0);
    for (std::size_t k = 0; k < workers; ++k)
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k],
                         WorkerActor(context, static_cast<int>(k), arrivals_))
          ->daemonize();
    create_broadcast_senders(context, board_, placed.server, workers);
    sg4::Actor::create("server", placed.server, ServerActor(context, board_, arrivals_));
  }

 private:
  BroadcastBoard board_;
  ArrivalQueue arrivals_;
};

}  // namespace

std::unique_ptr<Topology> make_parameter_server(const TopologySpec&) { return std::make_unique<ParameterServer>(); }

}  // namespace dmlsim
