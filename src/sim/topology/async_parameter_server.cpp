// The asynchronous parameter server (Downpour's pattern, used by ASGD and SSP): no rounds. Each
// worker pulls the model, computes, pushes its update and waits for its own reply; the server
// applies every push on arrival and replies to the pushers the staleness bound lets go
// (AsyncProtocol, algorithms/asynchronous.hpp). The run monitor counts server updates as rounds.
// Pushes that arrive while the server is busy (at the same instant, or during a charged
// evaluation) are applied in worker order, so reruns are byte-identical. Mailboxes as in the
// synchronous star: "server" (pushes) and "worker-k" (replies), each with a permanent receiver;
// replies are detached sends, so a slow link to one worker never holds up the server.
#include "algorithms/asynchronous.hpp"
#include "algorithms/registry.hpp"
#include "sim/comm_waits.hpp"
#include "sim/topology/star_messages.hpp"
#include "sim/topology/topology.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

// A reply travels as a broadcast does, a push as an upload.
constexpr int kReplyTag = kBroadcastTag;
constexpr int kPushTag = kUploadTag;

class AsyncServerActor {
 public:
  AsyncServerActor(SimContext& context, int staleness_bound) : ctx_(context), bound_(staleness_bound) {}

  void operator()() {
    inbox_ = sg4::Mailbox::by_name("server");
    inbox_->set_receiver(sg4::Actor::self());
    const int workers = static_cast<int>(ctx_.uploads.size());
    auto& role = *ctx_.server;
    AsyncProtocol protocol(role, workers, bound_);
    SimProbe probe(ctx_);

    ctx_.monitor->start(role.model(), probe);
    for (int k = 0; k < workers; ++k) reply(k, 0, role.model());
    for (bool running = true; running;) {
      for (const auto& push : arrived()) {
        const auto released = protocol.push(ctx_.uploads[static_cast<std::size_t>(push->from)],
                                             static_cast<std::uint64_t>(push->round));
        running = ctx_.monitor->after_round(static_cast<int>(protocol.version()), role.model(), probe);
        if (!running) break;
        for (int k : released) reply(k, protocol.version(), role.model());
      }
    }
    ctx_.monitor->finish(role.model(), sg4::Engine::get_clock());
    ctx_.record.staleness_histogram = protocol.staleness_histogram();
    while (inbox_->ready()) receive_unique<Message>(inbox_);  // pushes after the last update
    inbox_->set_receiver(nullptr);
    ctx_.finished = true;
  }

 private:
  // The next push, and every other push already in, in worker order.
  std::vector<std::unique_ptr<Message>> arrived() {
    std::vector<std::unique_ptr<Message>> pushes;
    pushes.push_back(receive_unique<Message>(inbox_));
    while (inbox_->ready()) pushes.push_back(receive_unique<Message>(inbox_));
    std::sort(pushes.begin(), pushes.end(), [](const auto& a, const auto& b) { return a->from < b->from; });
    return pushes;
  }

  // The model of `version` to worker k; `round` carries the version so the push can say what it
  // was computed on.
  void reply(int k, std::uint64_t version, const Vector& w) {
    auto message = std::make_unique<Message>(Message{static_cast<int>(version), kReplyTag, -1, ctx_.sizes.whole(),
                                                     sg4::Engine::get_clock(), std::make_shared<const Vector>(w)});
    ctx_.count(*message, ctx_.server_zone, ctx_.worker_zone[static_cast<std::size_t>(k)]);
    const auto bytes = message->bytes;
    sg4::Mailbox::by_name(worker_mailbox(k))
        ->put_init(message.release(), bytes)
        ->detach([](void* m) { delete static_cast<Message*>(m); });
  }

  SimContext& ctx_;
  int bound_;
  sg4::Mailbox* inbox_ = nullptr;
};

class AsyncWorkerActor {
 public:
  AsyncWorkerActor(SimContext& context, int worker) : ctx_(context), worker_(worker) {}

  void operator()() {
    auto* inbox = sg4::Mailbox::by_name(worker_mailbox(worker_));
    inbox->set_receiver(sg4::Actor::self());
    auto* server = sg4::Mailbox::by_name("server");
    auto trainer = ctx_.experiment->make_trainer(worker_);
    auto role = ctx_.make_worker_role(worker_);
    auto& upload = ctx_.uploads[static_cast<std::size_t>(worker_)];
    TimeLedger ledger(ctx_, worker_);

    // Daemon: the simulation ends when the server does. Push c uses the batches of round c.
    for (int push = 1;; ++push) {
      const auto model = receive_unique<Message>(inbox);
      ledger.received(model->sent_at);

      compute_round(*role, push, *model->values, trainer, upload, ledger);
      auto message = message_to_server(ctx_, worker_, model->round, kPushTag, ctx_.sizes.whole());
      const auto bytes = message->bytes;
      send_to(server, message.release(), bytes);
      ledger.communicated();
    }
  }

 private:
  SimContext& ctx_;
  int worker_;
};

class AsyncParameterServer final : public StarTopology {
 public:
  void create_actors(SimContext& context, const Placed& placed) override {
    const auto& params = context.experiment->algorithm.params;
    const int bound = params.algorithm().staleness_bound(params);
    for (std::size_t k = 0; k < placed.workers.size(); ++k)
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k], AsyncWorkerActor(context, static_cast<int>(k)))
          ->daemonize();
    sg4::Actor::create("server", placed.server, AsyncServerActor(context, bound));
  }
};

}  // namespace

std::unique_ptr<Topology> make_async_parameter_server(const TopologySpec&) {
  return std::make_unique<AsyncParameterServer>();
}

}  // namespace dmlsim
