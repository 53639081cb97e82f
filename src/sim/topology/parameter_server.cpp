// The parameter-server star (the seed's driver and executors): the server broadcasts its vector to
// the K workers, each works and uploads, the server aggregates. One round = 2K messages of the
// whole vector.
//
// The messaging avoids SimGrid 3.32's costs that grow with K per message: an actor pays O(its
// pending comms) for each of them that finishes, detached or not, so a server that posts K
// broadcast sends pays O(K²) per round; and matching a receive in a shared mailbox shifts its
// whole queue. Hence:
// - a broadcast is pulled: the server releases worker k's semaphore, in worker order, and worker
//   k transfers the vector from the server's host to its own (Comm::sendto), so no actor holds
//   more than one broadcast. The transfers start at the same instant and in the same order as
//   sends posted by the server would, so the simulated times are the same;
// - one upload mailbox per worker ("upload-k"), whose permanent receiver is the server, so an
//   upload starts at once, as over an open TCP connection, instead of waiting for its receive to
//   be posted (which would serialise the K uploads). The server takes them in worker order, the
//   order the aggregate sums in, and folds each as soon as it and all before it are in.
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

// What the server publishes for a round's broadcast, and the go signal of each worker.
struct BroadcastBoard {
  int round = 0;
  double sent_at = 0;
  std::shared_ptr<const Vector> values;
  sg4::Host* server_host = nullptr;
  std::vector<sg4::SemaphorePtr> go;  // per worker
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
    SimProbe probe(ctx_);

    ctx_.monitor->start(role.model(), probe);
    for (int round = 1;; ++round) {
      broadcast(round, role.broadcast());
      gather(role);
      if (!ctx_.monitor->after_round(round, role.model(), probe)) break;
    }
    ctx_.monitor->finish(role.model(), sg4::Engine::get_clock());
    for (auto* inbox : inboxes_) inbox->set_receiver(nullptr);
    ctx_.finished = true;
  }

 private:
  // Publishes the vector and lets the workers fetch it, in worker order.
  void broadcast(int round, const Vector& values) {
    board_.round = round;
    board_.sent_at = sg4::Engine::get_clock();
    board_.values = std::make_shared<const Vector>(values);
    const Message message{round, kBroadcastTag, -1, ctx_.sizes.whole(), board_.sent_at, nullptr};
    for (std::size_t k = 0; k < board_.go.size(); ++k) {
      ctx_.count(message, ctx_.server_zone, ctx_.worker_zone[k]);
      board_.go[k]->release();
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

  SimContext& ctx_;
  BroadcastBoard& board_;
  std::vector<sg4::Mailbox*> inboxes_;
};

class WorkerActor {
 public:
  WorkerActor(SimContext& context, const BroadcastBoard& board, int worker)
      : ctx_(context), board_(board), worker_(worker) {}

  void operator()() {
    auto& go = *board_.go[static_cast<std::size_t>(worker_)];
    auto* server = sg4::Mailbox::by_name(upload_mailbox(worker_));
    auto trainer = ctx_.experiment->make_trainer(worker_);
    auto role = ctx_.make_worker_role(worker_);
    auto& upload = ctx_.uploads[static_cast<std::size_t>(worker_)];
    TimeLedger ledger(ctx_, worker_);

    // Daemon: the simulation ends when the server does, with the workers waiting for a broadcast.
    for (;;) {
      go.acquire();
      const int round = board_.round;
      const auto values = board_.values;
      sg4::Comm::sendto(board_.server_host, sg4::this_actor::get_host(), ctx_.sizes.whole());
      ledger.received(board_.sent_at);

      role->run_round(round, *values, trainer, upload);
      const double flops = trainer.take_flops();
      sg4::this_actor::execute(flops);
      ledger.computed();
      ledger.stats().flops += flops;
      ledger.stats().samples += static_cast<std::uint64_t>(upload.samples);

      auto reply = std::make_unique<Message>(
          Message{round, kUploadTag, worker_, ctx_.sizes.whole(), sg4::Engine::get_clock(), nullptr});
      ctx_.count(*reply, ctx_.worker_zone[static_cast<std::size_t>(worker_)], ctx_.server_zone);
      const auto bytes = reply->bytes;
      server->put(reply.release(), bytes);
      ledger.communicated();
    }
  }

 private:
  SimContext& ctx_;
  const BroadcastBoard& board_;
  int worker_;
};

class ParameterServer final : public Topology {
 public:
  void create_actors(SimContext& context, const Placed& placed) override {
    board_.server_host = placed.server;
    for (std::size_t k = 0; k < placed.workers.size(); ++k) {
      board_.go.push_back(sg4::Semaphore::create(0));
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k],
                         WorkerActor(context, board_, static_cast<int>(k)))
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
