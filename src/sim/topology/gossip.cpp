// Decentralized training (D-PSGD): no server. K worker actors, each holding its own model, talk
// only to their neighbours in the scenario's gossip graph. A step in Lian's order: post the sends
// of the own model to every neighbour (their permanent receivers take the messages in as soon as
// they arrive), compute the node's first half (D-PSGD's gradient) while they travel, then wait for
// the neighbours' models of this step, and combine. A node does not wait for its own sends (they
// are detached): the exchange is symmetric, so its neighbours' models arrive as its own do, and a
// node can never run more than one step ahead of a neighbour. A neighbour's model of a
// later step that arrives early waits in the Peer's stash. Messages carry the model they send (a
// shared snapshot), so a node mixes exactly what its neighbours sent.
//
// The run is judged on the average model: every node leaves its model of step t on a board; the
// last of the K to do so evaluates the average and the consensus distance through the run monitor
// (not charged to simulated time unless charge-eval), so rows are per step whatever the nodes'
// spread. The nodes are daemons; a coordinator actor records the initial model and ends the run
// when the monitor stops it.
#include "algorithms/registry.hpp"
#include "sim/comm_waits.hpp"
#include "sim/topology/gossip_parts.hpp"
#include "sim/topology/topology.hpp"

#include <fmt/format.h>
#include <functional>
#include <map>
#include <optional>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Semaphore.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace gossip {

bool report(SimContext& ctx, int round, LazyConsensus& c, bool finite) {
  GossipProbe probe(ctx, [&c] { return c.get().distance; });
  if (ctx.monitor->after_round(round, [&c]() -> const Vector& { return c.get().average; }, finite, probe)) return true;
  ctx.monitor->finish(c.get().average, sg4::Engine::get_clock());
  ctx.finished = true;
  return false;
}

std::string answer_mailbox(int worker) { return "gossip-answer-" + std::to_string(worker); }

void post_model(SimContext& ctx, int from, int to, const std::string& to_box, int round, int tag,
                std::shared_ptr<const Vector> values) {
  auto message = std::make_unique<Message>(
      Message{round, tag, from, ctx.sizes.whole(), sg4::Engine::get_clock(), std::move(values)});
  ctx.count(*message, ctx.worker_zone[static_cast<std::size_t>(from)], ctx.worker_zone[static_cast<std::size_t>(to)]);
  const auto bytes = message->bytes;
  sg4::Mailbox::by_name(to_box)->put_init(message.release(), bytes)->detach([](void* m) { delete static_cast<Message*>(m); });
}

void charge(Peer& peer, LocalTrainer& trainer, int rows) {
  const double flops = trainer.take_flops();
  if (flops > 0) peer.context().compute(peer.worker(), flops);
  peer.ledger().computed();
  peer.ledger().stats().flops += flops;
  peer.ledger().stats().samples += static_cast<std::uint64_t>(rows);
}

}  // namespace gossip

namespace {

using namespace gossip;

// Round `round` of the run monitor on the average model; when the monitor stops the run, ends it.
void report_or_end(SimContext& ctx, int round, LazyConsensus& c, bool finite, sg4::Semaphore& done) {
  if (!report(ctx, round, c, finite)) done.release();
}

// Each step's K models until the last one is in.
class StepBoard {
 public:
  StepBoard(SimContext& context, sg4::SemaphorePtr done) : ctx_(context), done_(std::move(done)) {}

  void deposit(int step, int worker, std::shared_ptr<const Vector> model) {
    if (ctx_.finished) return;
    auto& models = pending_[step];
    models.resize(ctx_.uploads.size());
    models[static_cast<std::size_t>(worker)] = std::move(model);
    if (++count_[step] < static_cast<int>(models.size())) return;
    std::vector<const Vector*> all;
    for (const auto& m : models) all.push_back(m.get());
    LazyConsensus c([&all] { return all; });
    const bool finite = c.get().average.allFinite();  // once per step of all K: formed at once
    report_or_end(ctx_, step, c, finite, *done_);
    pending_.erase(step);
    count_.erase(step);
  }

 private:
  SimContext& ctx_;
  sg4::SemaphorePtr done_;
  std::map<int, std::vector<std::shared_ptr<const Vector>>> pending_;
  std::map<int, int> count_;
};

class GossipNodeActor {
 public:
  GossipNodeActor(SimContext& context, StepBoard& board, int worker) : ctx_(context), board_(board), worker_(worker) {}

  void operator()() {
    const auto& e = *ctx_.experiment;
    Peer peer(ctx_, worker_);
    auto trainer = e.make_trainer(worker_);
    auto node = ctx_.bare ? nullptr : e.algorithm.params.algorithm().make_node(e.algorithm, worker_, e.initial);
    const auto order = mixing_order(*e.algorithm.graph, worker_);
    auto current = std::make_shared<const Vector>(e.initial);
    std::vector<const Vector*> models(order.size());
    for (int step = 1; !ctx_.finished; ++step) {
      for (int j : order)
        if (j != worker_) peer.send_detached(j, step, kModelTag, ctx_.sizes.whole(), current);
      if (!node) trainer.charge_flops(ctx_.bare_round_flops);  // the benchmark's bare run: FLOPs, no training
      charge(peer, trainer, node ? node->before_exchange(step, trainer) : 0);

      std::vector<std::unique_ptr<Message>> received;
      for (std::size_t n = 1; n < order.size(); ++n) received.push_back(peer.receive(step, kModelTag));
      if (node) {
        for (std::size_t i = 0; i < order.size(); ++i) models[i] = model_of(order[i], current, received);
        charge(peer, trainer, node->after_exchange(step, models, trainer));
        current = std::make_shared<const Vector>(node->model());
      }
      board_.deposit(step, worker_, current);
      peer.ledger().computed();  // an evaluation charged to this host, if any
    }
    // Stay until the coordinator ends the run and SimGrid kills the daemons: a node that returned
    // now would take its receiver down while the run is being torn down.
    sg4::this_actor::suspend();
  }

 private:
  const Vector* model_of(int worker, const std::shared_ptr<const Vector>& own,
                         const std::vector<std::unique_ptr<Message>>& received) const {
    if (worker == worker_) return own.get();
    for (const auto& m : received)
      if (m->from == worker) return m->values.get();
    throw std::logic_error(fmt::format("worker {} got no model from neighbour {}", worker_, worker));
  }

  SimContext& ctx_;
  StepBoard& board_;
  int worker_;
};

// AD-PSGD's updates: after each node step, the average of all the nodes' models as they are now,
// formed only when the monitor records a row (O(K) per step otherwise, O(K^2) per step of every
// node). A step diverges when the stepping node's model does: every node's model is checked at
// its own next step, so a divergence shows at most one step of that node later than in the average.
class UpdateCounter {
 public:
  UpdateCounter(SimContext& context, sg4::SemaphorePtr done, const std::vector<std::unique_ptr<GossipNode>>& nodes)
      : ctx_(context), done_(std::move(done)), nodes_(nodes) {}

  // Updates (steps of any worker) so far.
  int updates() const { return updates_; }

  // Worker `node`'s step that read its model for the gradient after update `read_at`.
  void stepped(const GossipNode& node, int read_at) {
    if (ctx_.finished) return;
    record_staleness(static_cast<std::size_t>(updates_ - read_at));
    LazyConsensus c([this] {
      std::vector<const Vector*> models;
      for (const auto& n : nodes_) models.push_back(&n->model());
      return models;
    });
    report_or_end(ctx_, ++updates_, c, node.model().allFinite(), *done_);
  }

 private:
  // AD-PSGD's staleness (ASGD's, for pairwise gossip): the steps other workers completed between
  // a worker's read of its model for the gradient and that gradient's step.
  void record_staleness(std::size_t staleness) {
    auto& histogram = ctx_.record.staleness_histogram;
    if (histogram.size() <= staleness) histogram.resize(staleness + 1, 0);
    ++histogram[staleness];
  }

  SimContext& ctx_;
  sg4::SemaphorePtr done_;
  const std::vector<std::unique_ptr<GossipNode>>& nodes_;
  int updates_ = 0;
};

// A node's passive side: answers every neighbour's averaging request at once, on the node's host,
// whatever the node's own actor is doing.
class PairwiseResponder {
 public:
  PairwiseResponder(SimContext& context, PairwiseNode& node, int worker) : ctx_(context), node_(node), worker_(worker) {}

  void operator()() {
    auto* inbox = sg4::Mailbox::by_name(answer_mailbox(worker_));
    inbox->set_receiver(sg4::Actor::self());
    for (;;) {
      const auto request = receive_unique<Message>(inbox);
      auto old = std::make_shared<const Vector>(node_.answer(*request->values));
      post_model(ctx_, worker_, request->from, worker_mailbox(request->from), request->round, kAnswerTag, std::move(old));
    }
  }

 private:
  SimContext& ctx_;
  PairwiseNode& node_;
  int worker_;
};

// A node's active side: gradient, pairwise average with the drawn neighbour, step; repeat.
class PairwiseActive {
 public:
  PairwiseActive(SimContext& context, UpdateCounter& counter, PairwiseNode& node, int worker)
      : ctx_(context), counter_(counter), node_(node), worker_(worker) {}

  void operator()() {
    Peer peer(ctx_, worker_);
    auto trainer = ctx_.experiment->make_trainer(worker_);
    for (int step = 1; !ctx_.finished; ++step) {
      const int read_at = counter_.updates();
      const int rows = node_.before_exchange(step, trainer);
      charge(peer, trainer, rows);
      const int partner = node_.partner(step);
      if (partner < 0) {
        node_.after_exchange(step, {}, trainer);
      } else {
        post_model(ctx_, worker_, partner, answer_mailbox(partner), step, kModelTag, node_.offer());
        const auto answer = peer.receive(step, kAnswerTag);
        node_.after_exchange(step, {answer->values.get()}, trainer);
      }
      charge(peer, trainer, 0);
      counter_.stepped(node_, read_at);
      peer.ledger().computed();  // an evaluation charged to this host, if any
    }
    sg4::this_actor::suspend();  // as a D-PSGD node: stay until the run is torn down
  }

 private:
  SimContext& ctx_;
  UpdateCounter& counter_;
  PairwiseNode& node_;
  int worker_;
};

class Gossip final : public Topology {
 public:
  void check_routes(const Placed& placed, const AlgorithmSetup& setup) override {
    const auto& graph = *setup.graph;
    for (int i = 0; i < graph.nodes(); ++i)
      for (int j : graph.neighbours[static_cast<std::size_t>(i)])
        if (i < j)
          require_route(placed.workers[static_cast<std::size_t>(i)], placed.workers[static_cast<std::size_t>(j)],
                        fmt::format("gossip neighbours {} and {}", i, j));
  }

  void create_actors(SimContext& context, const Placed& placed) override {
    auto done = sg4::Semaphore::create(0);
    sg4::Actor::create("gossip-monitor", placed.workers.front(), [&context, done] {
      GossipProbe probe(context, [] { return 0.0; });  // every node starts from the same model
      context.monitor->start(context.experiment->initial, probe);
      done->acquire();
    });
    const auto& e = *context.experiment;
    if (!context.bare && e.algorithm.params.algorithm().make_node(e.algorithm, 0, e.initial)->pairwise())
      return create_pairwise(context, placed, done);
    board_ = std::make_unique<StepBoard>(context, done);
    for (std::size_t k = 0; k < placed.workers.size(); ++k)
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k],
                         GossipNodeActor(context, *board_, static_cast<int>(k)))
          ->daemonize();
  }

 private:
  void create_pairwise(SimContext& context, const Placed& placed, sg4::SemaphorePtr done) {
    const auto& e = *context.experiment;
    for (std::size_t k = 0; k < placed.workers.size(); ++k)
      nodes_.push_back(e.algorithm.params.algorithm().make_node(e.algorithm, static_cast<int>(k), e.initial));
    counter_ = std::make_unique<UpdateCounter>(context, done, nodes_);
    for (std::size_t k = 0; k < placed.workers.size(); ++k) {
      auto& node = static_cast<PairwiseNode&>(*nodes_[k]);
      const int worker = static_cast<int>(k);
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k], PairwiseActive(context, *counter_, node, worker))
          ->daemonize();
      sg4::Actor::create(fmt::format("answer-{}", k), placed.workers[k], PairwiseResponder(context, node, worker))
          ->daemonize();
    }
  }

  std::unique_ptr<StepBoard> board_;
  std::vector<std::unique_ptr<GossipNode>> nodes_;  // pairwise gossip: shared by each node's two actors
  std::unique_ptr<UpdateCounter> counter_;
};

}  // namespace

std::unique_ptr<Topology> make_gossip(const TopologySpec&) { return std::make_unique<Gossip>(); }

}  // namespace dmlsim
