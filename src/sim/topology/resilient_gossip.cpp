// The gossip topology (D-PSGD, AD-PSGD) when the scenario has <failures> (world/failures.hpp).
// There is no round to rebuild: every node goes on with the neighbours that are still there.
// - The failure detector is a view the nodes share: a worker is in the run while its host is up and
//   since it (re)joined; two neighbours are linked while every link of their routes both ways is up
//   (checked only when the scenario takes links down).
// - D-PSGD: whether neighbours i and j exchange at step t is decided once, by the first of the two
//   to begin step t (both in the run and linked), and read by the other, so both send or neither
//   does. A node waits for a neighbour's model `timeout` at a time; it gives the neighbour up for
//   the step when that one left the run, their route is down, or a link failed since the decision
//   (a message may be lost). An absent neighbour's mixing weight moves to the node itself
//   (drop_absent(): W stays symmetric and doubly stochastic over the live nodes); a node with no
//   neighbour left takes local steps. A model that did arrive is mixed, even if its sender died
//   since, and a message lost one way makes that step's mixing one-sided.
// - AD-PSGD: a node draws its partner among the neighbours in the run and linked to it; an
//   exchange whose partner leaves the run (or whose route fails, or a link fails) before the
//   answer comes is abandoned after the timeout: the node takes its gradient step alone. The
//   partner may have averaged with the offer already: the sum of the models then moves by that half.
// - A worker whose host comes back restarts (SimGrid's auto-restart), takes the latest model of
//   its first neighbour in the run and linked to it (one whole-model transfer from that neighbour's
//   host; the initial model if it has none), and takes part two steps after the one it died in
//   (D-PSGD; see Membership::rejoin) or at once (AD-PSGD). A D-PSGD node stops at the run's last
//   step: one left without neighbours steps alone, without waiting, but not past it.
// - The run is judged on the average of the models of the workers in the run: a D-PSGD step closes
//   once every worker deposited its model of the step or is out of it (the workers out miss the
//   step: the failure plan books their rows), an AD-PSGD update averages the nodes in the run.
// - Rounds in <failures round="R"> are steps: a failure happens as the first node begins step R
//   (AD-PSGD: at update R). When every worker is down and none is due back the run stops (exit 3).
#include "algorithms/registry.hpp"
#include "sim/comm_waits.hpp"
#include "sim/topology/gossip_parts.hpp"
#include "sim/topology/topology.hpp"
#include "world/failures.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

using namespace gossip;

double now() { return sg4::Engine::get_clock(); }

// Who is in the run and who may exchange with whom, as every node sees it.
class Membership {
 public:
  Membership(const SimContext& context, std::vector<sg4::Host*> hosts, const GossipGraph& graph)
      : failures_(*context.failures), hosts_(std::move(hosts)), graph_(graph), in_run_(hosts_.size(), true),
        incarnation_(hosts_.size(), 0), rejoin_step_(hosts_.size(), 1), step_(hosts_.size(), 0), lost_booked_(hosts_.size(), false),
        actors_(hosts_.size()), check_routes_(failures_.plans_links()) {
    on_state_change_ = sg4::Host::on_state_change.connect([this](const sg4::Host& host) {
      if (host.is_on()) return;  // back: its workers rejoin when their actors restart
      for (std::size_t k = 0; k < hosts_.size(); ++k)
        if (hosts_[k] == &host) {
          in_run_[k] = false;
          ++incarnation_[k];
        }
    });
  }
  ~Membership() { sg4::Host::on_state_change.disconnect(on_state_change_); }
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  int workers() const { return static_cast<int>(hosts_.size()); }
  const std::vector<int>& neighbours(int k) const { return graph_.neighbours[index(k)]; }
  sg4::Host* host(int k) const { return hosts_[index(k)]; }

  bool in_run(int k) const { return in_run_[index(k)] && hosts_[index(k)]->is_on(); }
  // In the run and joined at or before `step` (D-PSGD).
  bool member(int k, int step) const { return in_run(k) && step >= rejoin_step_[index(k)]; }
  bool linked(int a, int b) const { return !check_routes_ || FailurePlan::route_up(host(a), host(b)); }
  int incarnation(int k) const { return incarnation_[index(k)]; }
  int rejoin_step(int k) const { return rejoin_step_[index(k)]; }

  // The calling actor serves worker `k` (its node, and its responder under pairwise gossip).
  void attach(int k) { actors_[index(k)].push_back(sg4::this_actor::get_pid()); }

  // Worker `k` begins step `step`; the failures planned for that round happen as the first node
  // begins it.
  void begin(int k, int step) {
    step_[index(k)] = step;
    if (step <= started_) return;
    started_ = step;
    failures_.begin_round_apart(step);
  }

  // Whether neighbours `a` (the caller) and `b` exchange at step `step`: decided by the first of
  // the two to ask, both then in the run and linked, and confirmed by the second (its neighbour may
  // have left the run since). With the link failures counted at the decision.
  struct Edge {
    bool exchanges = false;
    int link_failures = 0;
  };
  Edge edge(int a, int b, int step) {
    auto& decided = edges_[step];
    const auto key = std::minmax(a, b);
    const bool now_possible = member(a, step) && member(b, step) && linked(a, b);
    const auto found = decided.find(key);
    if (found == decided.end()) return decided[key] = Edge{now_possible, failures_.link_failures()};
    Edge edge = found->second;
    decided.erase(found);
    edge.exchanges = edge.exchanges && now_possible;
    return edge;
  }
  // Steps up to `step` are closed: nobody asks about their edges any more.
  void forget_edges(int step) { edges_.erase(edges_.begin(), edges_.upper_bound(step)); }

  // Whether the caller `self` should stop waiting for neighbour `j`'s message of `step`.
  bool lost(int self, int j, int step, const Edge& edge) const {
    return !member(j, step) || !linked(self, j) || failures_.link_failures() != edge.link_failures;
  }

  // A worker back from a failure takes part again two steps after the one its earlier life was in
  // (and after the last closed step; D-PSGD; AD-PSGD ignores it), so that no decision about an edge
  // taken while its earlier life could exchange is read by the new one: its earlier life decided
  // steps up to its own, and a neighbour waiting on it is at most one step ahead (it cannot pass a
  // step without that life's model, or giving it up). Decisions taken while it was out say "no
  // exchange", so a neighbour that ran ahead alone meanwhile is no obstacle: the new life takes
  // local steps up to that neighbour's step and exchanges with it from there. Returns that step.
  int rejoin(int k, int closed) {
    const int step = std::max(closed, step_[index(k)] + 1) + 1;
    in_run_[index(k)] = true;
    rejoin_step_[index(k)] = step;
    lost_booked_[index(k)] = false;
    return step;
  }

  // Asynchronous runs book a lost worker's owed push once per loss.
  bool first_time_lost(int k) {
    if (lost_booked_[index(k)]) return false;
    lost_booked_[index(k)] = true;
    return true;
  }

  // The run is over: the other actors are stopped where they wait (their hosts stay up).
  void stop_others() {
    const auto self = sg4::this_actor::get_pid();
    for (const auto& pids : actors_)
      for (const auto pid : pids)
        if (pid != self)
          if (auto actor = sg4::Actor::by_pid(pid)) actor->kill();
  }

 private:
  static std::size_t index(int k) { return static_cast<std::size_t>(k); }

  FailurePlan& failures_;
  std::vector<sg4::Host*> hosts_;
  const GossipGraph& graph_;
  std::vector<bool> in_run_;       // false from its host's failure until its restarted actor rejoins
  std::vector<int> incarnation_;   // its host's failures so far
  std::vector<int> rejoin_step_;   // D-PSGD: the first step since it (re)joined
  std::vector<int> step_;          // D-PSGD: the step it began last
  std::vector<bool> lost_booked_;  // AD-PSGD: its loss is booked
  std::vector<std::vector<aid_t>> actors_;
  bool check_routes_;
  int started_ = 0;  // the latest step any node began
  std::map<int, std::map<std::pair<int, int>, Edge>> edges_;  // step -> decided, not yet read by both
  unsigned on_state_change_ = 0;
};

// A restarted actor's mailbox: what was sent to the node's earlier life, and that life's pending
// receive, went with its host (a receive of the new life queued behind the dead one's would wait
// for good).
void clear_mailbox(const std::string& name) { sg4::Mailbox::by_name(name)->clear(); }

// A node's actor starts: true when its host came back (a restart), its mailbox then cleared.
bool start_life(SimContext& ctx, int worker) {
  const bool restarted = ctx.failures->count_start(worker) > 0;
  if (restarted) clear_mailbox(worker_mailbox(worker));
  return restarted;
}

// The latest model `k`'s first neighbour in the run and linked to it has (`latest`: null when a
// worker has none), over one whole-model transfer from that neighbour's host; the initial model
// when no neighbour can give one. The work under way was lost with the host.
std::shared_ptr<const Vector> catch_up(Peer& peer, Membership& members,
                                       const std::function<std::shared_ptr<const Vector>(int)>& latest) {
  auto& ctx = peer.context();
  const int k = peer.worker();
  for (int j : members.neighbours(k)) {
    if (!members.in_run(j) || !members.linked(k, j)) continue;
    auto model = latest(j);
    if (!model) continue;
    const Message message{0, 0, j, ctx.sizes.whole(), now(), nullptr};
    ctx.count(message, ctx.worker_zone[static_cast<std::size_t>(j)], ctx.worker_zone[static_cast<std::size_t>(k)]);
    try {
      await_comm(sg4::Comm::sendto_async(members.host(j), members.host(k), message.bytes));
    } catch (const simgrid::Exception&) {  // that neighbour or a link went down during the transfer
      peer.ledger().communicated();
      continue;
    }
    peer.ledger().communicated();
    return model;
  }
  return std::make_shared<const Vector>(ctx.experiment->initial);
}

// The D-PSGD steps' models, closed in step order once every worker deposited its model of the
// step or is out of it.
class ResilientStepBoard {
 public:
  ResilientStepBoard(SimContext& context, Membership& members)
      : ctx_(context), failures_(*context.failures), members_(members),
        last_deposit_(static_cast<std::size_t>(members.workers()), 0), latest_(static_cast<std::size_t>(members.workers())) {}

  void deposit(int step, int worker, std::shared_ptr<const Vector> model) {
    if (ctx_.finished) return;
    const auto k = static_cast<std::size_t>(worker);
    auto& deposited = pending_[step];
    deposited.resize(last_deposit_.size());
    deposited[k] = {model, now()};
    last_deposit_[k] = step;
    latest_[k] = std::move(model);
    close_ready();
  }

  std::shared_ptr<const Vector> latest(int worker) const { return latest_[static_cast<std::size_t>(worker)]; }
  int closed() const { return closed_; }

  // Closes the steps that are complete, in order; a step every member left is skipped (it has no
  // model to judge). A closer whose host goes down while it evaluates leaves the step open for the
  // next node that deposits or gives a neighbour up.
  void close_ready() {
    while (!ctx_.finished && closer_alive() == false) {
      const int step = closed_ + 1;
      if (!complete(step)) return;
      const auto found = pending_.find(step);
      if (found == pending_.end()) {
        if (!anyone_deposited_after(step)) return;  // nobody has gone past it yet
        book(step, {});
        finish_step(step);
        continue;
      }
      closer_ = sg4::this_actor::get_pid();
      close(step, found->second);
      closer_ = -1;
      if (ctx_.finished) {
        failures_.end();
        members_.stop_others();
        return;
      }
      finish_step(step);
    }
  }

 private:
  struct Deposit {
    std::shared_ptr<const Vector> model;
    double at = 0;
  };

  bool closer_alive() const { return closer_ >= 0 && sg4::Actor::by_pid(closer_); }

  // Worker `k` deposited `step`, or will never: it is out of the run since an earlier step, or
  // rejoined after it.
  bool complete(int step) const {
    const auto found = pending_.find(step);
    for (int k = 0; k < members_.workers(); ++k) {
      const auto i = static_cast<std::size_t>(k);
      if (found != pending_.end() && found->second[i].model) continue;
      const bool out = step < members_.rejoin_step(k) || (!members_.in_run(k) && step > last_deposit_[i]);
      if (!out) return false;
    }
    return true;
  }

  bool anyone_deposited_after(int step) const { return pending_.upper_bound(step) != pending_.end(); }

  // The workers out of `step` missed it; the others' models are its participants.
  void book(int step, const std::vector<Deposit>& deposited) {
    if (booked_ >= step) return;  // a closer that died during its evaluation booked it already
    booked_ = step;
    std::vector<Arrival> arrivals;
    for (std::size_t k = 0; k < last_deposit_.size(); ++k) {
      if (k < deposited.size() && deposited[k].model)
        arrivals.push_back({deposited[k].at, static_cast<int>(k)});
      else
        failures_.missed(static_cast<int>(k), step);
    }
    failures_.aggregated(step, arrivals);
  }

  void close(int step, const std::vector<Deposit>& deposited) {
    book(step, deposited);
    std::vector<const Vector*> models;
    for (const auto& d : deposited)
      if (d.model) models.push_back(d.model.get());
    LazyConsensus c([&models] { return models; });
    const bool finite = c.get().average.allFinite();
    report(ctx_, step, c, finite);
  }

  void finish_step(int step) {
    closed_ = step;
    pending_.erase(step);
    members_.forget_edges(step);
  }

  SimContext& ctx_;
  FailurePlan& failures_;
  Membership& members_;
  std::vector<int> last_deposit_;
  std::vector<std::shared_ptr<const Vector>> latest_;
  std::map<int, std::vector<Deposit>> pending_;
  int closed_ = 0;
  int booked_ = 0;
  aid_t closer_ = -1;
};

// A D-PSGD node with failures: each step, its model to the neighbours it exchanges with, its
// gradient, their models (those that come), the mix.
class ResilientGossipNode {
 public:
  ResilientGossipNode(SimContext& context, Membership& members, ResilientStepBoard& board, int worker)
      : ctx_(context), members_(members), board_(board), worker_(worker) {}

  void operator()() {
    const auto& e = *ctx_.experiment;
    const bool restarted = start_life(ctx_, worker_);
    Peer peer(ctx_, worker_);
    members_.attach(worker_);
    int step = 1;
    auto current = std::make_shared<const Vector>(e.initial);
    if (restarted) {
      step = members_.rejoin(worker_, board_.closed());
      if (step > e.rounds) return;  // its neighbours are done: nothing left to take part in
      current = catch_up(peer, members_, [this](int j) { return board_.latest(j); });
    }
    auto trainer = e.make_trainer(worker_);
    auto node = ctx_.bare ? nullptr : e.algorithm.params.algorithm().make_node(e.algorithm, worker_, *current);
    const auto order = mixing_order(*e.algorithm.graph, worker_);
    // A node whose neighbours are all gone takes local steps without waiting for anyone: it stops
    // at the run's last step instead of running ahead of the others without bound.
    for (; !ctx_.finished && step <= e.rounds; ++step) {
      members_.begin(worker_, step);
      peer.drop_older(step, 0);
      std::vector<Membership::Edge> edges(order.size());
      for (std::size_t i = 0; i < order.size(); ++i) {
        if (order[i] == worker_) continue;
        edges[i] = members_.edge(worker_, order[i], step);
        // Tagged with the sender: the node must know whose model did not come.
        if (edges[i].exchanges) peer.send_detached(order[i], step, worker_, ctx_.sizes.whole(), current);
      }
      if (!node) trainer.charge_flops(ctx_.bare_round_flops);  // the benchmark's bare run: FLOPs, no training
      charge(peer, trainer, node ? node->before_exchange(step, trainer) : 0);
      std::vector<std::unique_ptr<Message>> received(order.size());
      for (std::size_t i = 0; i < order.size(); ++i)
        if (edges[i].exchanges) received[i] = receive_from(peer, order[i], step, edges[i]);
      if (ctx_.finished) break;
      if (node) {
        std::vector<const Vector*> models(order.size(), nullptr);
        for (std::size_t i = 0; i < order.size(); ++i)
          models[i] = order[i] == worker_ ? current.get() : received[i] ? received[i]->values.get() : nullptr;
        charge(peer, trainer, node->after_exchange(step, models, trainer));
        current = std::make_shared<const Vector>(node->model());
      }
      board_.deposit(step, worker_, current);
      peer.ledger().computed();  // an evaluation charged to this host, if any
    }
  }

 private:
  // Neighbour `j`'s model of `step`, or null once it is given up.
  std::unique_ptr<Message> receive_from(Peer& peer, int j, int step, const Membership::Edge& edge) {
    for (;;) {
      if (auto message = peer.receive_within(step, j, ctx_.failures->timeout())) return message;
      if (ctx_.finished) return nullptr;
      if (members_.lost(worker_, j, step, edge)) {
        board_.close_ready();  // the step may have waited for that neighbour only
        return nullptr;
      }
      // Still in the run and linked: a slow transfer, not a failure.
    }
  }

  SimContext& ctx_;
  Membership& members_;
  ResilientStepBoard& board_;
  int worker_;
};

// AD-PSGD's updates with failures: after each node step, a row's average is over the nodes in the
// run; the workers out of it are booked as an asynchronous star books the workers out of its view.
class ResilientUpdateCounter {
 public:
  ResilientUpdateCounter(SimContext& context, Membership& members, const std::vector<std::unique_ptr<GossipNode>>& nodes)
      : ctx_(context), failures_(*context.failures), members_(members), nodes_(nodes) {}

  int updates() const { return updates_; }

  void stepped(int worker, int read_at) {
    if (ctx_.finished) return;
    auto& histogram = ctx_.record.staleness_histogram;
    const auto staleness = static_cast<std::size_t>(updates_ - read_at);
    if (histogram.size() <= staleness) histogram.resize(staleness + 1, 0);
    ++histogram[staleness];
    const int update = ++updates_;
    failures_.begin_round_apart(update);
    failures_.aggregated(update, {{now(), worker}});
    int in_run = 0;
    for (int k = 0; k < members_.workers(); ++k) {
      if (members_.in_run(k)) {
        ++in_run;
        continue;
      }
      if (members_.first_time_lost(k)) failures_.missed(k, update);
      failures_.went_on_without(k, update);
    }
    failures_.set_participants(update, in_run);
    LazyConsensus c([this] {
      std::vector<const Vector*> models;
      for (int k = 0; k < members_.workers(); ++k)
        if (members_.in_run(k)) models.push_back(&nodes_[static_cast<std::size_t>(k)]->model());
      return models;
    });
    if (report(ctx_, update, c, nodes_[static_cast<std::size_t>(worker)]->model().allFinite())) return;
    failures_.end();
    members_.stop_others();
  }

 private:
  SimContext& ctx_;
  FailurePlan& failures_;
  Membership& members_;
  const std::vector<std::unique_ptr<GossipNode>>& nodes_;
  int updates_ = 0;
};

PairwiseNode& pairwise(std::unique_ptr<GossipNode>& node) { return static_cast<PairwiseNode&>(*node); }

// A pairwise node's passive side; a node out of the run (back from a failure, not yet rejoined)
// answers nobody: the requester gives it up.
class ResilientResponder {
 public:
  ResilientResponder(SimContext& context, Membership& members, std::vector<std::unique_ptr<GossipNode>>& nodes, int worker)
      : ctx_(context), members_(members), nodes_(nodes), worker_(worker) {}

  void operator()() {
    members_.attach(worker_);
    auto* inbox = sg4::Mailbox::by_name(answer_mailbox(worker_));
    if (members_.incarnation(worker_) > 0) clear_mailbox(answer_mailbox(worker_));
    inbox->set_receiver(sg4::Actor::self());
    for (;;) {
      std::unique_ptr<Message> request;
      try {
        request = receive_unique<Message>(inbox);
      } catch (const simgrid::Exception&) {  // the requester's host or a link went down during the transfer
        continue;
      }
      if (!members_.in_run(worker_)) continue;
      // A requester whose host went down since it asked gets no answer: its mailbox's receiver may
      // still be its dead actor, and SimGrid aborts a transfer started towards a host that is off.
      if (!members_.host(request->from)->is_on()) continue;
      auto old = std::make_shared<const Vector>(pairwise(nodes_[static_cast<std::size_t>(worker_)]).answer(*request->values));
      post_model(ctx_, worker_, request->from, worker_mailbox(request->from), request->round, kAnswerTag, std::move(old));
    }
  }

 private:
  SimContext& ctx_;
  Membership& members_;
  std::vector<std::unique_ptr<GossipNode>>& nodes_;
  int worker_;
};

// A pairwise node's active side with failures.
class ResilientPairwiseActive {
 public:
  ResilientPairwiseActive(SimContext& context, Membership& members, ResilientUpdateCounter& counter,
                          std::vector<std::unique_ptr<GossipNode>>& nodes, std::vector<int>& next_step, int worker)
      : ctx_(context), members_(members), counter_(counter), nodes_(nodes), next_step_(next_step), worker_(worker) {}

  void operator()() {
    const auto& e = *ctx_.experiment;
    const bool restarted = start_life(ctx_, worker_);
    Peer peer(ctx_, worker_);
    members_.attach(worker_);
    auto& slot = nodes_[static_cast<std::size_t>(worker_)];
    if (restarted) {
      const auto model = catch_up(peer, members_, [this](int j) -> std::shared_ptr<const Vector> {
        return std::make_shared<const Vector>(nodes_[static_cast<std::size_t>(j)]->model());
      });
      slot = e.algorithm.params.algorithm().make_node(e.algorithm, worker_, *model);
      members_.rejoin(worker_, 0);
    }
    auto& node = pairwise(slot);
    auto trainer = e.make_trainer(worker_);
    // Steps count on across restarts: an answer to a request of the node's earlier life is not
    // taken for one of the new.
    for (int& step = next_step_[static_cast<std::size_t>(worker_)]; !ctx_.finished; ++step) {
      const int read_at = counter_.updates();
      charge(peer, trainer, node.before_exchange(step, trainer));
      const int partner =
          node.partner_among(step, [this](int j) { return members_.in_run(j) && members_.linked(worker_, j); });
      std::unique_ptr<Message> answer;
      if (partner >= 0) answer = exchange(peer, node, partner, step);
      if (answer)
        node.after_exchange(step, {answer->values.get()}, trainer);
      else
        node.after_exchange(step, {}, trainer);
      charge(peer, trainer, 0);
      counter_.stepped(worker_, read_at);
      peer.ledger().computed();  // an evaluation charged to this host, if any
    }
  }

 private:
  // The partner's answer, or null once the exchange is abandoned.
  std::unique_ptr<Message> exchange(Peer& peer, PairwiseNode& node, int partner, int step) {
    const int links = ctx_.failures->link_failures();
    const int incarnation = members_.incarnation(partner);
    post_model(ctx_, worker_, partner, answer_mailbox(partner), step, kModelTag, node.offer());
    for (;;) {
      if (auto answer = peer.receive_within(step, kAnswerTag, ctx_.failures->timeout())) return answer;
      if (ctx_.finished) return nullptr;
      const bool lost = !members_.in_run(partner) || members_.incarnation(partner) != incarnation ||
                        !members_.linked(worker_, partner) || ctx_.failures->link_failures() != links;
      if (lost) return nullptr;
    }
  }

  SimContext& ctx_;
  Membership& members_;
  ResilientUpdateCounter& counter_;
  std::vector<std::unique_ptr<GossipNode>>& nodes_;
  std::vector<int>& next_step_;
  int worker_;
};

class ResilientGossip final : public Topology {
 public:
  void check_routes(const Placed& placed, const AlgorithmSetup& setup) override {
    make_gossip(TopologySpec{})->check_routes(placed, setup);
  }

  void create_actors(SimContext& context, const Placed& placed) override {
    const auto& e = *context.experiment;
    members_ = std::make_unique<Membership>(context, placed.workers, *e.algorithm.graph);
    sg4::Actor::create("gossip-start", placed.workers.front(), [&context] {
      GossipProbe probe(context, [] { return 0.0; });  // every node starts from the same model
      context.monitor->start(context.experiment->initial, probe);
    });
    if (!context.bare && e.algorithm.params.algorithm().make_node(e.algorithm, 0, e.initial)->pairwise())
      return create_pairwise(context, placed);
    board_ = std::make_unique<ResilientStepBoard>(context, *members_);
    for (std::size_t k = 0; k < placed.workers.size(); ++k)
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k],
                         ResilientGossipNode(context, *members_, *board_, static_cast<int>(k)))
          ->set_auto_restart(true);  // when its host comes back
  }

 private:
  void create_pairwise(SimContext& context, const Placed& placed) {
    const auto& e = *context.experiment;
    for (std::size_t k = 0; k < placed.workers.size(); ++k)
      nodes_.push_back(e.algorithm.params.algorithm().make_node(e.algorithm, static_cast<int>(k), e.initial));
    next_step_.assign(placed.workers.size(), 1);
    counter_ = std::make_unique<ResilientUpdateCounter>(context, *members_, nodes_);
    for (std::size_t k = 0; k < placed.workers.size(); ++k) {
      const int worker = static_cast<int>(k);
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k],
                         ResilientPairwiseActive(context, *members_, *counter_, nodes_, next_step_, worker))
          ->set_auto_restart(true);
      // The responder serves until the run ends: a daemon, stopped with the last node.
      auto responder = sg4::Actor::create(fmt::format("answer-{}", k), placed.workers[k],
                                          ResilientResponder(context, *members_, nodes_, worker));
      responder->daemonize();
      responder->set_auto_restart(true);
    }
  }

  std::unique_ptr<Membership> members_;
  std::unique_ptr<ResilientStepBoard> board_;
  std::vector<std::unique_ptr<GossipNode>> nodes_;
  std::vector<int> next_step_;
  std::unique_ptr<ResilientUpdateCounter> counter_;
};

}  // namespace

std::unique_ptr<Topology> make_resilient_gossip(const TopologySpec&) { return std::make_unique<ResilientGossip>(); }

}  // namespace dmlsim
