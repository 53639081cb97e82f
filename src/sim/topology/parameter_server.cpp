// The parameter-server star (the seed's driver and executors): the server broadcasts its vector to
// the K workers, each works and uploads, the server aggregates. One round = 2K messages of the
// whole vector.
//
// Mailboxes: "worker-k" (broadcasts to worker k) and "upload-k" (worker k's uploads). Each
// mailbox's reader is made its permanent receiver, so a send starts at once, as over an open TCP
// connection, instead of waiting for the receive to be posted (which would serialise the K
// uploads). The messaging is shaped by SimGrid 3.32's costs, so that a round costs O(K):
// - the broadcasts are detached sends: an actor pays O(pending) for each of its finished comms,
//   so a server waiting on K sends would pay O(K²) per round; nothing needs to wait for them,
//   since no upload can reach the server before its worker has the broadcast;
// - one upload mailbox per worker, read in worker order: matching a receive in a shared mailbox
//   shifts its whole queue, and worker order is the order the aggregate sums in anyway, so each
//   upload is folded into the aggregate as soon as it and all before it are in.
#include "sim/topology/topology.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

constexpr int kBroadcastTag = 0;
constexpr int kUploadTag = 1;

std::string upload_mailbox(int worker) { return "upload-" + std::to_string(worker); }

class ServerActor {
 public:
  explicit ServerActor(SimContext& context) : ctx_(context) {}

  void operator()() {
    const auto workers = static_cast<int>(ctx_.uploads.size());
    for (int k = 0; k < workers; ++k) {
      outboxes_.push_back(sg4::Mailbox::by_name(worker_mailbox(k)));
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
  void broadcast(int round, const Vector& values) {
    auto shared = std::make_shared<const Vector>(values);
    for (std::size_t k = 0; k < outboxes_.size(); ++k) {
      auto message = std::make_unique<Message>(
          Message{round, kBroadcastTag, -1, ctx_.sizes.whole(), sg4::Engine::get_clock(), shared});
      ctx_.count(*message, ctx_.server_zone, ctx_.worker_zone[k]);
      const auto bytes = message->bytes;
      // Detached: the receiver owns the message; the clean function frees it should the send fail.
      outboxes_[k]->put_init(message.release(), bytes)->detach([](void* m) { delete static_cast<Message*>(m); });
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
  std::vector<sg4::Mailbox*> outboxes_;
  std::vector<sg4::Mailbox*> inboxes_;
};

class WorkerActor {
 public:
  WorkerActor(SimContext& context, int worker) : ctx_(context), worker_(worker) {}

  void operator()() {
    auto* inbox = sg4::Mailbox::by_name(worker_mailbox(worker_));
    inbox->set_receiver(sg4::Actor::self());
    auto* server = sg4::Mailbox::by_name(upload_mailbox(worker_));
    auto trainer = ctx_.experiment->make_trainer(worker_);
    auto role = ctx_.make_worker_role(worker_);
    auto& upload = ctx_.uploads[static_cast<std::size_t>(worker_)];
    TimeLedger ledger(ctx_, worker_);

    // Daemon: the simulation ends when the server does, with the workers waiting for a broadcast.
    for (;;) {
      auto message = inbox->get_unique<Message>();
      ledger.received(message->sent_at);

      role->run_round(message->round, *message->values, trainer, upload);
      const double flops = trainer.take_flops();
      sg4::this_actor::execute(flops);
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
    for (std::size_t k = 0; k < placed.workers.size(); ++k)
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k], WorkerActor(context, static_cast<int>(k)))
          ->daemonize();
    sg4::Actor::create("server", placed.server, ServerActor(context));
  }
};

}  // namespace

std::unique_ptr<Topology> make_parameter_server(const TopologySpec&) { return std::make_unique<ParameterServer>(); }

}  // namespace dmlsim
