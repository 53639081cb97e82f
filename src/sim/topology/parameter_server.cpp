// The parameter-server star (the seed's driver and executors): the server broadcasts its vector to
// the K workers, each works and uploads, the server aggregates. Mailboxes: "server" (uploads) and
// "worker-k" (broadcasts). Each mailbox's reader is made its permanent receiver, so a send starts
// at once, as over an open TCP connection, instead of waiting for the receive to be posted (which
// would serialise the K uploads). One round = 2K messages of the whole vector.
#include "sim/topology/topology.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

constexpr int kBroadcastTag = 0;
constexpr int kUploadTag = 1;

class ServerActor {
 public:
  explicit ServerActor(SimContext& context) : ctx_(context) {}

  void operator()() {
    auto* inbox = sg4::Mailbox::by_name("server");
    inbox->set_receiver(sg4::Actor::self());
    const auto workers = ctx_.uploads.size();
    for (std::size_t k = 0; k < workers; ++k) outboxes_.push_back(sg4::Mailbox::by_name(worker_mailbox(static_cast<int>(k))));
    auto& role = *ctx_.server;
    SimProbe probe(ctx_);

    ctx_.monitor->start(role.model(), probe);
    for (int round = 1;; ++round) {
      broadcast(round, role.broadcast());
      for (std::size_t i = 0; i < workers; ++i) inbox->get_unique<Message>();  // the uploads are in their slots
      role.aggregate(ctx_.uploads);
      if (!ctx_.monitor->after_round(round, role.model(), probe)) break;
    }
    ctx_.monitor->finish(role.model(), sg4::Engine::get_clock());
    inbox->set_receiver(nullptr);
    ctx_.finished = true;
  }

 private:
  void broadcast(int round, const Vector& values) {
    auto shared = std::make_shared<const Vector>(values);
    std::vector<sg4::CommPtr> sends;
    for (std::size_t k = 0; k < outboxes_.size(); ++k) {
      auto message = std::make_unique<Message>(
          Message{round, kBroadcastTag, -1, ctx_.sizes.whole(), sg4::Engine::get_clock(), shared});
      ctx_.count(*message, ctx_.server_zone, ctx_.worker_zone[k]);
      sends.push_back(outboxes_[k]->put_async(message.get(), message->bytes));
      message.release();  // the receiver owns it now
    }
    sg4::Comm::wait_all(sends);
  }

  SimContext& ctx_;
  std::vector<sg4::Mailbox*> outboxes_;
};

class WorkerActor {
 public:
  WorkerActor(SimContext& context, int worker) : ctx_(context), worker_(worker) {}

  void operator()() {
    auto* inbox = sg4::Mailbox::by_name(worker_mailbox(worker_));
    inbox->set_receiver(sg4::Actor::self());
    auto* server = sg4::Mailbox::by_name("server");
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
