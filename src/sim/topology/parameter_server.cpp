// The parameter-server star (the seed's driver and executors): the server broadcasts its vector to
// the K workers, each works and uploads, the server aggregates. One round = 2K messages of the
// whole vector.
//
// The messaging avoids SimGrid 3.32's costs that grow with K per message: an actor pays O(its
// pending comms) for each of them that finishes, and detached comms (host-to-host sendto ones
// included) are all pending on the engine's maestro, so a server that posts K broadcasts pays
// O(K²) per round however it posts them; and matching a receive in a shared mailbox shifts its
// whole queue. Hence:
// - broadcast senders: actors on the server's host, each posting the broadcasts of a group of at
//   most kWorkersPerSender workers, so no actor holds more than that many comms. The server lets
//   them post one group after the other, so the transfers start at the same instant and in the
//   same order (worker order) as if the server posted them: the simulated times are the same;
// - mailboxes "worker-k" (broadcasts) and "upload-k" (worker k's uploads), each with its reader
//   as permanent receiver, so a send starts at once, as over an open TCP connection, instead of
//   waiting for its receive to be posted (which would serialise the K uploads). The server takes
//   the uploads in worker order, the order the aggregate sums in, and folds each as soon as it
//   and all before it are in.
// Algorithms that aggregate only some workers' uploads (client sampling, backup workers) need
// arrival order across workers: they take the partial path, where the server posts the
// broadcasts to the round's participants itself and the uploads share the mailbox "server", so
// the first K - b to arrive can be told apart. That path keeps the O(K) costs above.
#include "sim/topology/topology.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Semaphore.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

constexpr int kBroadcastTag = 0;
constexpr int kUploadTag = 1;

std::string upload_mailbox(int worker) { return "upload-" + std::to_string(worker); }
const std::string kSharedUploadMailbox = "server";

// Client sampling or backup workers: the server needs the uploads' arrival order.
bool takes_partial_path(const SimContext& ctx) {
  const int workers = static_cast<int>(ctx.uploads.size());
  return ctx.server->samples_clients() || ctx.server->uploads_needed(workers) < workers;
}

constexpr std::size_t kWorkersPerSender = 64;

// What the server publishes for a round's broadcast, and the signals between it and its senders.
struct BroadcastBoard {
  int round = 0;
  double sent_at = 0;
  std::shared_ptr<const Vector> values;
  std::vector<sg4::SemaphorePtr> go;      // per sender: post this round's broadcasts
  std::vector<sg4::SemaphorePtr> posted;  // per sender: they are posted
};

// Posts the broadcasts to workers [first, last) when told, then waits for them to arrive.
class BroadcastSender {
 public:
  BroadcastSender(SimContext& context, BroadcastBoard& board, std::size_t sender, std::size_t first, std::size_t last)
      : ctx_(context), board_(board), sender_(sender), first_(first), last_(last) {}

  // Daemon: the simulation ends when the server does, with the senders waiting for a round.
  void operator()() {
    std::vector<sg4::Mailbox*> outboxes;
    for (auto k = first_; k < last_; ++k) outboxes.push_back(sg4::Mailbox::by_name(worker_mailbox(static_cast<int>(k))));
    std::vector<sg4::CommPtr> sends;
    for (;;) {
      board_.go[sender_]->acquire();
      sends.clear();
      for (auto k = first_; k < last_; ++k) {
        auto message = std::make_unique<Message>(
            Message{board_.round, kBroadcastTag, -1, ctx_.sizes.whole(), board_.sent_at, board_.values});
        ctx_.count(*message, ctx_.server_zone, ctx_.worker_zone[k]);
        const auto bytes = message->bytes;
        sends.push_back(outboxes[k - first_]->put_async(message.release(), bytes));  // the receiver owns it now
      }
      board_.posted[sender_]->release();
      sg4::Comm::wait_all(sends);
    }
  }

 private:
  SimContext& ctx_;
  BroadcastBoard& board_;
  std::size_t sender_, first_, last_;
};

class ServerActor {
 public:
  ServerActor(SimContext& context, BroadcastBoard& board) : ctx_(context), board_(board) {}

  void operator()() {
    const auto workers = static_cast<int>(ctx_.uploads.size());
    for (int k = 0; k < workers; ++k) {
      inboxes_.push_back(sg4::Mailbox::by_name(upload_mailbox(k)));
      inboxes_.back()->set_receiver(sg4::Actor::self());
    }
    auto& role = *ctx_.server;
    partial_ = takes_partial_path(ctx_);
    may_drop_uploads_ = role.uploads_needed(workers) < workers;
    if (partial_) {
      shared_inbox_ = sg4::Mailbox::by_name(kSharedUploadMailbox);
      shared_inbox_->set_receiver(sg4::Actor::self());
      for (int k = 0; k < workers; ++k) outboxes_.push_back(sg4::Mailbox::by_name(worker_mailbox(k)));
    }
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
    for (auto* inbox : inboxes_) inbox->set_receiver(nullptr);
    if (partial_) {
      while (shared_inbox_->ready()) shared_inbox_->get_unique<Message>();  // late uploads of dropped workers
      shared_inbox_->set_receiver(nullptr);
    }
    ctx_.finished = true;
  }

 private:
  // Publishes the vector and has the senders post it, one group after the other.
  void broadcast(int round, const Vector& values) {
    board_.round = round;
    board_.sent_at = sg4::Engine::get_clock();
    board_.values = std::make_shared<const Vector>(values);
    for (std::size_t g = 0; g < board_.go.size(); ++g) {
      board_.go[g]->release();
      board_.posted[g]->acquire();
    }
  }

  // Receives the K uploads in worker order (each waits in its own mailbox until asked for) and
  // folds each into the aggregate as it is taken; the uploads themselves are in their slots.
  void gather(ServerRole& role) {
    const bool streams = role.streams();
    for (std::size_t k = 0; k < inboxes_.size(); ++k) {
      inboxes_[k]->get_unique<Message>();
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
    const auto chosen = role.participants(round, static_cast<int>(ctx_.uploads.size()));
    broadcast_to(round, role.broadcast(), chosen);
    role.aggregate(first_uploads(round, role.uploads_needed(static_cast<int>(chosen.size()))));
  }

  // The uploads of this round's `needed` earliest arrivals (ties by worker id), in worker order.
  // Uploads of earlier rounds, from workers the server stopped waiting for, are dropped.
  std::vector<Upload> first_uploads(int round, int needed) {
    std::vector<Arrival> arrived;
    const auto take = [&] {
      const auto message = shared_inbox_->get_unique<Message>();
      if (message->round == round) arrived.push_back({sg4::Engine::get_clock(), message->from});
    };
    while (static_cast<int>(arrived.size()) < needed) take();
    while (shared_inbox_->ready()) take();  // arrived at the same instant: they compete by worker id
    std::vector<Upload> uploads;
    for (int k : first_arrivals(arrived, needed)) uploads.push_back(ctx_.uploads[static_cast<std::size_t>(k)]);
    return uploads;
  }

  void broadcast_to(int round, const Vector& values, const std::vector<int>& chosen) {
    auto shared = std::make_shared<const Vector>(values);
    std::vector<sg4::CommPtr> sends;
    for (int worker : chosen) {
      const auto k = static_cast<std::size_t>(worker);
      auto message = std::make_unique<Message>(
          Message{round, kBroadcastTag, -1, ctx_.sizes.whole(), sg4::Engine::get_clock(), shared});
      ctx_.count(*message, ctx_.server_zone, ctx_.worker_zone[k]);
      if (may_drop_uploads_) {  // a straggler's broadcast must not hold up the server
        outboxes_[k]->put_init(message.get(), message->bytes)->detach([](void* m) { delete static_cast<Message*>(m); });
      } else {
        sends.push_back(outboxes_[k]->put_async(message.get(), message->bytes));
      }
      message.release();  // the receiver owns it now
    }
    sg4::Comm::wait_all(sends);
  }

  SimContext& ctx_;
  BroadcastBoard& board_;
  std::vector<sg4::Mailbox*> inboxes_;
  bool partial_ = false;
  bool may_drop_uploads_ = false;  // backup workers: the server does not wait for every upload
  sg4::Mailbox* shared_inbox_ = nullptr;
  std::vector<sg4::Mailbox*> outboxes_;
};

class WorkerActor {
 public:
  WorkerActor(SimContext& context, int worker) : ctx_(context), worker_(worker) {}

  void operator()() {
    auto* inbox = sg4::Mailbox::by_name(worker_mailbox(worker_));
    inbox->set_receiver(sg4::Actor::self());
    auto* server = sg4::Mailbox::by_name(takes_partial_path(ctx_) ? kSharedUploadMailbox : upload_mailbox(worker_));
    // A worker the server may stop waiting for (backup workers) starts on the newest broadcast.
    const int workers = static_cast<int>(ctx_.uploads.size());
    const bool may_fall_behind = ctx_.server->uploads_needed(workers) < workers;
    auto trainer = ctx_.experiment->make_trainer(worker_);
    auto role = ctx_.make_worker_role(worker_);
    auto& upload = ctx_.uploads[static_cast<std::size_t>(worker_)];
    TimeLedger ledger(ctx_, worker_);

    // Daemon: the simulation ends when the server does, with the workers waiting for a broadcast.
    for (;;) {
      auto message = inbox->get_unique<Message>();
      while (may_fall_behind && inbox->ready()) message = inbox->get_unique<Message>();
      ledger.received(message->sent_at);

      role->run_round(message->round, *message->values, trainer, upload);
      const double flops = trainer.take_flops();
      ctx_.compute(worker_, flops);
      ledger.computed();
      ledger.stats().flops += flops;
      ledger.stats().samples += static_cast<std::uint64_t>(upload.samples);

      auto reply = std::make_unique<Message>(
          Message{message->round, kUploadTag, worker_, ctx_.sizes.whole(), sg4::Engine::get_clock(), nullptr});
      ctx_.count(*reply, ctx_.worker_zone[static_cast<std::size_t>(worker_)], ctx_.server_zone);
      const auto bytes = reply->bytes;
      server->put(reply.release(), bytes);
      ledger.communicated();
    }
  }

 private:
  SimContext& ctx_;
  int worker_;
};

class ParameterServer final : public Topology {
 public:
  void create_actors(SimContext& context, const Placed& placed) override {
    const auto workers = placed.workers.size();
    for (std::size_t k = 0; k < workers; ++k)
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k], WorkerActor(context, static_cast<int>(k)))
          ->daemonize();
    for (std::size_t first = 0, g = 0; first < workers; first += kWorkersPerSender, ++g) {
      board_.go.push_back(sg4::Semaphore::create(0));
      board_.posted.push_back(sg4::Semaphore::create(0));
      const auto last = std::min(workers, first + kWorkersPerSender);
      sg4::Actor::create(fmt::format("broadcast-{}", g), placed.server, BroadcastSender(context, board_, g, first, last))
          ->daemonize();
    }
    sg4::Actor::create("server", placed.server, ServerActor(context, board_));
  }

 private:
  BroadcastBoard board_;
};

}  // namespace

std::unique_ptr<Topology> make_parameter_server(const TopologySpec&) { return std::make_unique<ParameterServer>(); }

}  // namespace dmlsim
