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
    may_drop_uploads_ = role.uploads_needed(static_cast<int>(workers)) < static_cast<int>(workers);
    SimProbe probe(ctx_);

    ctx_.monitor->start(role.model(), probe);
    for (int round = 1;; ++round) {
      const auto chosen = role.participants(round, static_cast<int>(workers));
      broadcast(round, role.broadcast(), chosen);
      const int needed = role.uploads_needed(static_cast<int>(chosen.size()));
      if (needed == static_cast<int>(workers)) {
        for (std::size_t i = 0; i < workers; ++i) inbox->get_unique<Message>();  // the uploads are in their slots
        role.aggregate(ctx_.uploads);
      } else {
        role.aggregate(first_uploads(inbox, round, needed));
      }
      if (!ctx_.monitor->after_round(round, role.model(), probe)) break;
    }
    ctx_.monitor->finish(role.model(), sg4::Engine::get_clock());
    while (inbox->ready()) inbox->get_unique<Message>();  // late uploads of dropped workers
    inbox->set_receiver(nullptr);
    ctx_.finished = true;
  }

 private:
  // The uploads of this round's `needed` earliest arrivals (ties by worker id), in worker order.
  // Uploads of earlier rounds, from workers the server stopped waiting for, are dropped.
  std::vector<Upload> first_uploads(sg4::Mailbox* inbox, int round, int needed) {
    std::vector<Arrival> arrived;
    const auto take = [&] {
      const auto message = inbox->get_unique<Message>();
      if (message->round == round) arrived.push_back({sg4::Engine::get_clock(), message->from});
    };
    while (static_cast<int>(arrived.size()) < needed) take();
    while (inbox->ready()) take();  // arrived at the same instant: they compete by worker id
    std::vector<Upload> uploads;
    for (int k : first_arrivals(arrived, needed)) uploads.push_back(ctx_.uploads[static_cast<std::size_t>(k)]);
    return uploads;
  }

  void broadcast(int round, const Vector& values, const std::vector<int>& chosen) {
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
  std::vector<sg4::Mailbox*> outboxes_;
  bool may_drop_uploads_ = false;  // backup workers: the server does not wait for every upload
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

    // A worker the server may stop waiting for (backup workers) starts on the newest broadcast.
    const int workers = static_cast<int>(ctx_.uploads.size());
    const bool may_fall_behind = ctx_.server->uploads_needed(workers) < workers;

    // Daemon: the simulation ends when the server does, with the workers waiting for a broadcast.
    for (;;) {
      auto message = inbox->get_unique<Message>();
      while (may_fall_behind && inbox->ready()) message = inbox->get_unique<Message>();
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
