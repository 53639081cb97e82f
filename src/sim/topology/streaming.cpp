// What the parameter-server and ring-allreduce kinds run for a streaming algorithm (Streaming
// DiLoCo, registry.hpp's Streaming): every round exchanges one fragment of the parameters, and the
// exchange overlaps the first tau inner steps of the next round. The overlap is SimGrid's, not a
// formula: a worker posts its fragment (an asynchronous upload to the server, or the ring
// all-reduce run by a helper actor on its host), executes the next round's first tau steps while
// the fragment travels, and only then waits for the result; the round's other steps follow.
//
// - parameter-server: the server broadcasts (through the sender groups of broadcast_senders.hpp)
//   the first round's vector whole and then, each round, the fragment it has just updated; it aggregates the K uploads in worker order and consults the
//   run monitor at once. Workers are daemons, as in parameter_server.cpp.
// - ring-allreduce: each worker's helper actor runs the fragment's reduce-scatter and all-gather
//   (2(K-1) chunk messages around the ring in worker order); a round closes when every helper has
//   finished its all-reduce: the last aggregates and consults the monitor (as collective.cpp's
//   close_round does).
// In both, a round's result is available as soon as its exchange ends; the workers' overlap steps
// of a round after the last are not part of the run's simulated time.
#include "algorithms/registry.hpp"
#include "sim/comm_waits.hpp"
#include "sim/topology/broadcast_senders.hpp"
#include "sim/topology/collective.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Barrier.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Semaphore.hpp>

#include <numeric>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

constexpr int kUploadTag = 1;

std::string stream_upload_mailbox(int worker) { return "stream-upload-" + std::to_string(worker); }
std::string ring_mailbox(int worker) { return "stream-ring-" + std::to_string(worker); }

// The run's streaming shape and the bytes of its messages.
struct FragmentSizes {
  Streaming shape;
  MessageSizes sizes;
  // Simulated parameters of fragment p, split as the real ones are (FragmentLayout).
  std::uint64_t parameters(int p) const { return chunk_parameters(sizes.parameters, shape.fragments, p); }
  std::uint64_t bytes(int p) const { return sizes.of(parameters(p)); }
  int fragment_of(int round) const { return (round - 1) % shape.fragments; }
};

FragmentSizes fragment_sizes(const SimContext& ctx) {
  const auto& params = ctx.experiment->algorithm.params;
  return {params.algorithm().streaming(params), ctx.sizes};
}

// `--bare`: the algorithm's FLOPs, split between the overlap steps and the rest of the round.
class BareStreamingWorker final : public WorkerRole {
 public:
  BareStreamingWorker(double round_flops, const Streaming& shape)
      : ahead_(round_flops * shape.overlap_steps / shape.round_steps), round_(round_flops) {}
  void run_ahead(int round, LocalTrainer& trainer) override {
    if (round >= 2) trainer.charge_flops(ahead_);
  }
  void run_round(int round, const Vector&, LocalTrainer& trainer, Upload&) override {
    trainer.charge_flops(round >= 2 ? round_ - ahead_ : round_);
  }

 private:
  double ahead_, round_;
};

std::unique_ptr<WorkerRole> worker_role(const SimContext& ctx, int worker) {
  if (ctx.bare) return std::make_unique<BareStreamingWorker>(ctx.bare_round_flops, fragment_sizes(ctx).shape);
  return ctx.make_worker_role(worker);
}

// Executes the FLOPs the trainer counted on this actor's host and books them.
void execute_counted(LocalTrainer& trainer, TimeLedger& ledger) {
  const double flops = trainer.take_flops();
  ledger.execute(flops);
  ledger.computed();
  ledger.stats().flops += flops;
}

// The overlap steps of a round, executed while the previous round's exchange runs. They are booked
// only once that exchange is back (book()): the overlap steps of a round after the run's last one
// are wasted work, not compute time of the run.
class OverlapSteps {
 public:
  void execute(LocalTrainer& trainer, TimeLedger& ledger) {
    flops_ = trainer.take_flops();
    ledger.execute(flops_);
    end_ = sg4::Engine::get_clock();
  }
  // The exchange is back: compute until the steps ended (the caller books what followed).
  void book(TimeLedger& ledger) const {
    ledger.computed_until(end_);
    ledger.stats().flops += flops_;
  }

 private:
  double flops_ = 0, end_ = 0;
};

// ---- parameter server ----

class StreamingServerActor {
 public:
  StreamingServerActor(SimContext& context, BroadcastBoard& board)
      : ctx_(context), board_(board), fragments_(fragment_sizes(context)) {}

  void operator()() {
    const auto workers = ctx_.uploads.size();
    std::vector<sg4::Mailbox*> inboxes;
    for (std::size_t k = 0; k < workers; ++k) {
      inboxes.push_back(sg4::Mailbox::by_name(stream_upload_mailbox(static_cast<int>(k))));
      inboxes.back()->set_receiver(sg4::Actor::self());
    }
    board_.address_all(workers);
    board_.report_delivery = true;  // the uploads are taken once every broadcast has arrived
    auto& role = *ctx_.server;
    SimProbe probe(ctx_);
    ctx_.monitor->start(role.model(), probe);
    for (int round = 1;; ++round) {
      // The first round starts everybody from the initial model; later ones return the fragment
      // the previous round updated.
      const auto bytes = round == 1 ? ctx_.sizes.whole() : fragments_.bytes(fragments_.fragment_of(round - 1));
      board_.broadcast(round, bytes, std::make_shared<const Vector>(role.broadcast()));
      for (auto* inbox : inboxes) receive_unique<Message>(inbox);
      role.aggregate(ctx_.uploads);
      if (!ctx_.monitor->after_round(round, role.model(), probe)) break;
    }
    ctx_.monitor->finish(role.model(), sg4::Engine::get_clock());
    for (auto* inbox : inboxes) inbox->set_receiver(nullptr);
    ctx_.finished = true;
  }

 private:
  SimContext& ctx_;
  BroadcastBoard& board_;
  FragmentSizes fragments_;
};

class StreamingPsWorker {
 public:
  StreamingPsWorker(SimContext& context, int worker) : ctx_(context), worker_(worker), fragments_(fragment_sizes(context)) {}

  // Daemon: the simulation ends when the server does.
  void operator()() {
    auto* inbox = sg4::Mailbox::by_name(worker_mailbox(worker_));
    inbox->set_receiver(sg4::Actor::self());
    auto* server = sg4::Mailbox::by_name(stream_upload_mailbox(worker_));
    auto trainer = ctx_.experiment->make_trainer(worker_);
    auto role = worker_role(ctx_, worker_);
    auto& upload = ctx_.uploads[static_cast<std::size_t>(worker_)];
    TimeLedger ledger(ctx_, worker_);
    sg4::CommPtr in_flight;  // the previous round's upload
    for (int round = 1;; ++round) {
      auto message = std::unique_ptr<Message>();
      if (in_flight) {
        OverlapSteps overlap;
        role->run_ahead(round, trainer);  // while the upload travels and the server works
        overlap.execute(trainer, ledger);
        await_comm(in_flight);
        message = receive_unique<Message>(inbox);
        overlap.book(ledger);
        ledger.received(message->sent_at);
      } else {
        message = receive_unique<Message>(inbox);
        ledger.received(message->sent_at);
      }
      role->run_round(round, *message->values, trainer, upload);
      execute_counted(trainer, ledger);
      ledger.stats().samples += static_cast<std::uint64_t>(upload.samples);

      const auto bytes = fragments_.bytes(fragments_.fragment_of(round));
      auto reply = std::make_unique<Message>(Message{round, kUploadTag, worker_, bytes, sg4::Engine::get_clock(), nullptr});
      ctx_.count(*reply, ctx_.worker_zone[static_cast<std::size_t>(worker_)], ctx_.server_zone);
      in_flight = server->put_async(reply.release(), bytes);
    }
  }

 private:
  SimContext& ctx_;
  int worker_;
  FragmentSizes fragments_;
};

// ---- ring all-reduce ----

// A worker's all-reduce of one round's fragment, run by its helper actor while the worker computes.
struct RingJob {
  int round = 0;
  sg4::SemaphorePtr go = sg4::Semaphore::create(0);
  sg4::SemaphorePtr done = sg4::Semaphore::create(0);
};

// The end of a round, for every helper: the last to arrive aggregates (round 0: records the
// initial model) and consults the monitor, as CollectiveTopology::close_round does.
class RoundClose {
 public:
  explicit RoundClose(int workers) : workers_(workers), barrier_(sg4::Barrier::create(static_cast<unsigned>(workers))) {}
  // Returns whether the run goes on.
  bool close(SimContext& ctx, int round) {
    if (++arrived_ == workers_) {
      arrived_ = 0;
      aggregate_and_monitor(ctx, round);
    }
    barrier_->wait();
    return !ctx.finished;
  }

 private:
  int workers_;
  sg4::BarrierPtr barrier_;
  int arrived_ = 0;
};

// On the worker's host: for each job, the 2(K-1) steps of the ring all-reduce of the fragment
// (reduce-scatter sends chunk (p - s) mod K, all-gather passes on the chunk just completed; one
// sender per inbox and one message in flight per link, so no stash is needed), then the round's
// close. The helpers end the run: the workers are daemons, and a worker's overlap steps for a
// round that never closes are not simulated time of the run.
class RingHelper {
 public:
  RingHelper(SimContext& context, RoundClose& close, RingJob& job, int worker)
      : ctx_(context), close_(close), job_(job), worker_(worker), fragments_(fragment_sizes(context)) {}

  void operator()() {
    const int n = static_cast<int>(ctx_.uploads.size());
    const int next = (worker_ + 1) % n;
    auto* inbox = sg4::Mailbox::by_name(ring_mailbox(worker_));
    inbox->set_receiver(sg4::Actor::self());
    auto* outbox = sg4::Mailbox::by_name(ring_mailbox(next));
    bool go_on = close_.close(ctx_, 0);
    job_.done->release();  // the first round needs nothing from the ring
    while (go_on) {
      job_.go->acquire();
      const auto fragment = fragments_.parameters(fragments_.fragment_of(job_.round));
      for (int step = 0; step < 2 * (n - 1); ++step) {
        const int chunk = step < n - 1 ? worker_ - step : worker_ + 1 - (step - (n - 1));
        const auto bytes = ctx_.sizes.of(chunk_parameters(fragment, n, ((chunk % n) + n) % n));
        auto message = std::make_unique<Message>(Message{job_.round, step, worker_, bytes, sg4::Engine::get_clock(), nullptr});
        ctx_.count(*message, ctx_.worker_zone[static_cast<std::size_t>(worker_)], ctx_.worker_zone[static_cast<std::size_t>(next)]);
        auto send = outbox->put_async(message.release(), bytes);
        receive_unique<Message>(inbox);
        await_comm(send);
      }
      go_on = close_.close(ctx_, job_.round);
      if (go_on) job_.done->release();  // after the last round, the worker's overlap steps are wasted
    }
    inbox->set_receiver(nullptr);
  }

 private:
  SimContext& ctx_;
  RoundClose& close_;
  RingJob& job_;
  int worker_;
  FragmentSizes fragments_;
};

// Daemon: computes; its helper exchanges and closes the rounds.
class StreamingRingWorker {
 public:
  StreamingRingWorker(SimContext& context, RingJob& job, int worker) : ctx_(context), job_(job), worker_(worker) {}

  void operator()() {
    auto trainer = ctx_.experiment->make_trainer(worker_);
    auto role = worker_role(ctx_, worker_);
    auto& upload = ctx_.uploads[static_cast<std::size_t>(worker_)];
    TimeLedger ledger(ctx_, worker_);
    for (int round = 1;; ++round) {
      OverlapSteps overlap;
      role->run_ahead(round, trainer);  // while the helper all-reduces the previous fragment
      overlap.execute(trainer, ledger);
      job_.done->acquire();
      overlap.book(ledger);
      ledger.communicated();
      role->run_round(round, ctx_.server->broadcast(), trainer, upload);
      execute_counted(trainer, ledger);
      ledger.stats().samples += static_cast<std::uint64_t>(upload.samples);
      job_.round = round;
      job_.go->release();
    }
  }

 private:
  SimContext& ctx_;
  RingJob& job_;
  int worker_;
};

class StreamingRing final : public Topology {
 public:
  void check_routes(const Placed& placed, const AlgorithmSetup& /*setup*/) override {
    std::vector<int> ring(placed.workers.size());
    std::iota(ring.begin(), ring.end(), 0);
    require_routes(placed, ring_links(ring, "ring neighbours"));
  }
  void create_actors(SimContext& context, const Placed& placed) override {
    const auto workers = placed.workers.size();
    close_ = std::make_unique<RoundClose>(static_cast<int>(workers));
    jobs_.resize(workers);
    for (std::size_t k = 0; k < workers; ++k) {
      const int worker = static_cast<int>(k);
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k], StreamingRingWorker(context, jobs_[k], worker))
          ->daemonize();
      sg4::Actor::create(fmt::format("ring-{}", k), placed.workers[k], RingHelper(context, *close_, jobs_[k], worker));
    }
  }

 private:
  std::unique_ptr<RoundClose> close_;
  std::vector<RingJob> jobs_;
};

class StreamingParameterServer final : public StarTopology {
 public:
  void create_actors(SimContext& context, const Placed& placed) override {
    for (std::size_t k = 0; k < placed.workers.size(); ++k)
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k], StreamingPsWorker(context, static_cast<int>(k)))
          ->daemonize();
    create_broadcast_senders(context, board_, placed.server, placed.workers.size());
    sg4::Actor::create("server", placed.server, StreamingServerActor(context, board_));
  }

 private:
  BroadcastBoard board_;
};

}  // namespace

std::unique_ptr<Topology> make_streaming(const TopologySpec& spec) {
  if (spec.kind == "ring-allreduce") return std::make_unique<StreamingRing>();
  return std::make_unique<StreamingParameterServer>();
}

}  // namespace dmlsim
