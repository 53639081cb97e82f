// The server-less topologies (ring all-reduce, tree, hierarchical) when the scenario has
// <failures> (world/failures.hpp): the topology's exchange, rebuilt without the workers whose hosts
// went down (resilient_collective.hpp).
// - A member that has waited `timeout` for a message of the exchange (or whose transfer failed)
//   asks the failure detector, a view of the hosts' state shared by the members: if a member of the
//   attempt is down, it gives the round's exchange up and starts it again, under new tags, on the
//   members that are up (the same for every survivor: the first to give up fixes it), over which
//   the topology builds its shape anew (a ring of the survivors, a tree over them, zones led by
//   their first live member); if none is down, the transfer is only slow and it waits on. Every
//   survivor gives up on its own timeout, so the new attempt runs once the last of them has waited
//   it. Messages to a host that is down are lost.
// - The survivors keep the uploads they computed: the round's model is the algorithm's rule over
//   them in worker order (what the star computes when those uploads are the ones it gets).
// - A member whose part of the exchange went through before its host went down (every survivor
//   completed) still counts in the round, as an upload that reached the star's server does.
// - A worker whose host comes back restarts (SimGrid's auto-restart), waits for the round under
//   way to close, and takes part from the next one with its roles made from the current model. If
//   every member of a round is down, the workers that came back start that round again.
// - When the scenario takes links down, the members that go on are also a group whose every pair
//   has its routes up; a member left out is cut off, as a dead one would be, and waits (it is not
//   restarted) to be taken back once its routes are up. A link failure during an attempt (a message
//   may have been lost) makes the next timeout start it again.
// - The failure plan books each round a worker had no upload aggregated in, against the failure
//   that cut it off; when every worker is down and none is due back the run stops (exit 3).
#include "algorithms/registry.hpp"
#include "sim/topology/resilient_collective.hpp"
#include "world/failures.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <numeric>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Semaphore.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

double now() { return sg4::Engine::get_clock(); }

// Actors blocked until the shared state changes: a round closes, an exchange is started again, or
// a host goes down or comes back. A semaphore each, not a condition variable (an actor killed while
// it waits must have no lock to give back), without timeouts, and not released once its actor is
// dead: SimGrid 3.32 crashes releasing a semaphore whose acquisition was killed or timed out.
class Waiters {
 public:
  void wait() {
    const Waiting me{sg4::this_actor::get_pid(), sg4::Semaphore::create(0)};
    waiting_.push_back(me);
    me.semaphore->acquire();
  }
  void wake_all() {
    // A woken actor may run, and wait again, before this loop is over: it waits on the next wake.
    const auto waking = std::move(waiting_);
    waiting_.clear();
    for (const auto& w : waking)
      if (sg4::Actor::by_pid(w.pid)) w.semaphore->release();
  }

 private:
  struct Waiting {
    aid_t pid;
    sg4::SemaphorePtr semaphore;
  };
  std::vector<Waiting> waiting_;
};

// The state the members share: the round under way, its members (worker order) and which attempt
// at its exchange, who completed it, who waits to join.
class RoundCoordinator {
 public:
  RoundCoordinator(SimContext& context, const SurvivorExchange& exchange, std::vector<sg4::Host*> hosts)
      : ctx_(context), failures_(*context.failures), exchange_(exchange), hosts_(std::move(hosts)),
        joining_(hosts_.size(), false), stride_(exchange.tags(static_cast<int>(hosts_.size()))),
        check_routes_(failures_.plans_links()) {
    for (std::size_t k = 0; k < hosts_.size(); ++k) members_.push_back(static_cast<int>(k));
    // A member that goes down after its part of the exchange, or a round's last member going down
    // while workers wait to join, changes what the waiting members should do.
    on_state_change_ = sg4::Host::on_state_change.connect([this](const sg4::Host&) { waiters_.wake_all(); });
  }
  ~RoundCoordinator() { sg4::Host::on_state_change.disconnect(on_state_change_); }
  RoundCoordinator(const RoundCoordinator&) = delete;
  RoundCoordinator& operator=(const RoundCoordinator&) = delete;

  // Round 0: every worker is in; the last to come records the initial model.
  void start(Peer& peer) { close(peer, 0, 0); }

  // The round's exchange, done again on the survivors until it goes through; returns once the
  // round is closed, with the next round this worker takes part in (-1: the run is over). A worker
  // the survivors left out (cut off by a link) waits to be taken back, as one back from a failure.
  int exchange_and_close(Peer& peer, int round) {
    for (;;) {
      const int attempt = attempt_;
      const auto members = members_;
      if (std::find(members.begin(), members.end(), peer.worker()) == members.end()) {
        const int next = join(peer);
        peer.ledger().waited();
        return next;
      }
      if (attempt_exchange(peer, members, round, attempt) && close(peer, round, attempt)) return round + 1;
    }
  }

  // A worker back from a failure: waits for the round under way to close. Returns the round it
  // takes part in, or -1 if the run is over.
  int join(Peer& peer) {
    const auto k = static_cast<std::size_t>(peer.worker());
    joining_[k] = true;
    while (!ctx_.finished) {
      if (!anyone_up(members_)) restart_round_with_joiners();
      if (!joining_[k]) return round_;  // taken into the next round by its closer, or restarting this one
      waiters_.wait();
    }
    return -1;
  }

 private:
  // Up and a member (not a worker that came back and waits for the next round).
  bool up(int worker) const {
    const auto k = static_cast<std::size_t>(worker);
    return hosts_[k]->is_on() && !joining_[k];
  }
  bool anyone_up(const std::vector<int>& workers) const {
    return std::any_of(workers.begin(), workers.end(), [this](int k) { return up(k); });
  }
  std::vector<int> up_among(const std::vector<int>& workers) const {
    std::vector<int> out;
    std::copy_if(workers.begin(), workers.end(), std::back_inserter(out), [this](int k) { return up(k); });
    return out;
  }

  // Of `workers` (up, worker order), those that go on together: all of them when no link fails in
  // the run; else a group whose every pair has its routes up (a shape rebuilt over it sends only
  // over routes that work), chosen greedily from the best connected worker (then in worker order).
  // Worker order.
  std::vector<int> connected_group(const std::vector<int>& workers) const {
    if (!check_routes_) return workers;
    const std::size_t n = workers.size();
    std::vector<std::vector<bool>> reach(n, std::vector<bool>(n, true));
    std::vector<int> degree(n, 0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j) {
        const bool up = FailurePlan::route_up(host(workers[i]), host(workers[j]));
        reach[i][j] = reach[j][i] = up;
        degree[i] += up;
        degree[j] += up;
      }
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return degree[a] > degree[b]; });
    std::vector<std::size_t> chosen;
    for (const auto i : order)
      if (std::all_of(chosen.begin(), chosen.end(), [&](std::size_t c) { return reach[i][c]; })) chosen.push_back(i);
    std::sort(chosen.begin(), chosen.end());
    std::vector<int> group;
    for (const auto i : chosen) group.push_back(workers[i]);
    return group;
  }
  const sg4::Host* host(int worker) const { return hosts_[static_cast<std::size_t>(worker)]; }

  // The messages of one attempt, under its own tags: a send to a host that is down is lost, a
  // receive gives the attempt up when a member is down.
  class AttemptChannel final : public Channel {
   public:
    AttemptChannel(RoundCoordinator& coordinator, Peer& peer, const std::vector<int>& members, int round, int attempt)
        : coordinator_(coordinator), peer_(peer), members_(members), round_(round), attempt_(attempt),
          tag_base_(attempt * coordinator.stride_) {}
    sg4::CommPtr send(int to, int tag, std::uint64_t bytes) override {
      if (!coordinator_.hosts_[static_cast<std::size_t>(to)]->is_on()) return nullptr;
      return peer_.send(to, round_, tag_base_ + tag, bytes);
    }
    bool receive(int tag) override { return coordinator_.receive(peer_, members_, round_, attempt_, tag_base_ + tag); }
    void finish(const sg4::CommPtr& send) override { RoundCoordinator::finish(peer_, send); }
    void finish(std::vector<sg4::CommPtr>& sends) override {
      for (const auto& send : sends) RoundCoordinator::finish(peer_, send);
    }
    const MessageSizes& sizes() const override { return peer_.context().sizes; }

   private:
    RoundCoordinator& coordinator_;
    Peer& peer_;
    const std::vector<int>& members_;
    int round_, attempt_, tag_base_;
  };

  // The topology's exchange over `members`, as attempt `attempt`. False when it was given up (a
  // member is down, or another attempt began).
  bool attempt_exchange(Peer& peer, const std::vector<int>& members, int round, int attempt) {
    peer.drop_older(round, attempt * stride_);
    AttemptChannel channel(*this, peer, members, round, attempt);
    return exchange_.exchange(channel, members, peer.worker());
  }

  // Waits for a message, `timeout` at a time, until it comes or the exchange is given up.
  bool receive(Peer& peer, const std::vector<int>& members, int round, int attempt, int tag) {
    for (;;) {
      if (peer.receive_within(round, tag, failures_.timeout())) return true;
      if (attempt_ != attempt || round_ != round) return false;  // another survivor gave up first
      const auto survivors = connected_group(up_among(members));
      // A link that went down during the attempt may have lost a message: the attempt is done again.
      if (survivors.size() < members.size() || failures_.link_failures() != attempt_link_failures_) {
        give_up(round, attempt, survivors);
        return false;
      }
      // Nobody is down or cut off: a slow transfer, not a failure.
    }
  }

  // A send whose receiver went down fails: the loss shows as the receivers' timeouts.
  static void finish(Peer& peer, const sg4::CommPtr& send) {
    try {
      peer.finish(send);
    } catch (const simgrid::Exception&) {
      peer.ledger().communicated();
    }
  }

  void give_up(int round, int attempt, std::vector<int> survivors) {
    if (attempt_ != attempt || round_ != round) return;
    ++attempt_;
    attempt_link_failures_ = failures_.link_failures();
    members_ = std::move(survivors);
    completed_.clear();
    waiters_.wake_all();
  }

  // A member completed attempt `attempt`: the round closes once every member that is up has.
  // False when another attempt began meanwhile (this member must exchange again).
  bool close(Peer& peer, int round, int attempt) {
    if (attempt_ != attempt || round_ != round) return false;
    completed_.push_back(peer.worker());
    for (;;) {
      if (round_ > round || ctx_.finished) break;
      if (attempt_ != attempt) return false;
      if (!closer_alive() && everyone_up_completed()) {
        closer_ = {peer.worker(), sg4::this_actor::get_pid()};
        finish_round(peer, round);
        closer_ = {};
        waiters_.wake_all();
        break;
      }
      waiters_.wait();
    }
    peer.ledger().waited();
    return true;
  }

  // A closer whose host went down during the round's evaluation (charged to it) left the round
  // open: another member that completed closes it (its host's state change woke them).
  bool closer_alive() const {
    return closer_.pid >= 0 && hosts_[static_cast<std::size_t>(closer_.worker)]->is_on() && sg4::Actor::by_pid(closer_.pid);
  }

  bool everyone_up_completed() const {
    return std::all_of(members_.begin(), members_.end(), [this](int k) {
      return !up(k) || std::find(completed_.begin(), completed_.end(), k) != completed_.end();
    });
  }

  // The last member to complete: aggregates the members' uploads (worker order), consults the
  // monitor, and sets up the next round's members. A member that takes over from a closer that
  // died evaluates again (the work under way was lost with the host), but does not aggregate again.
  void finish_round(Peer& peer, int round) {
    SimProbe probe(ctx_);
    bool go_on = true;
    if (round == 0) {
      ctx_.monitor->start(ctx_.server->model(), probe);
    } else {
      if (aggregated_ != round) aggregate(round);
      go_on = ctx_.monitor->after_round(round, ctx_.server->model(), probe);
    }
    peer.ledger().computed();  // an evaluation charged to this host, if any
    if (!go_on) {
      ctx_.monitor->finish(ctx_.server->model(), now());
      std::vector<int> left_out;
      for (std::size_t k = 0; k < hosts_.size(); ++k)
        if (hosts_[k]->is_on() && std::find(members_.begin(), members_.end(), static_cast<int>(k)) == members_.end())
          left_out.push_back(static_cast<int>(k));
      failures_.left_out_at_end(std::move(left_out));
      failures_.end();
      ctx_.finished = true;
      return;
    }
    begin(round + 1, with_joiners(up_among(members_)));
  }

  // `members` (up) and the workers waiting to join whose hosts are up, in worker order, cut down to
  // those that go on together; the joiners among them are taken in.
  std::vector<int> with_joiners(std::vector<int> members) {
    for (std::size_t k = 0; k < joining_.size(); ++k)
      if (joining_[k] && hosts_[k]->is_on()) members.push_back(static_cast<int>(k));
    std::sort(members.begin(), members.end());
    members = connected_group(members);
    for (const int k : members) joining_[static_cast<std::size_t>(k)] = false;
    return members;
  }

  // The round's model: the algorithm's rule over the members' uploads; the others missed it.
  void aggregate(int round) {
    std::vector<Upload> uploads;
    std::vector<Arrival> arrivals;
    for (int k : members_) {
      uploads.push_back(ctx_.uploads[static_cast<std::size_t>(k)]);
      arrivals.push_back({now(), k});
    }
    for (std::size_t k = 0; k < hosts_.size(); ++k)
      if (std::find(members_.begin(), members_.end(), static_cast<int>(k)) == members_.end())
        failures_.missed(static_cast<int>(k), round);
    failures_.aggregated(round, arrivals);
    ctx_.server->aggregate(uploads);
    aggregated_ = round;
  }

  // Every member of the round under way is down: the workers that came back run it again.
  void restart_round_with_joiners() { begin(round_, with_joiners({})); }

  void begin(int round, std::vector<int> members) {
    const bool new_round = round != round_;
    round_ = round;
    attempt_ = 0;
    attempt_link_failures_ = failures_.link_failures();
    members_ = std::move(members);
    completed_.clear();
    if (new_round) failures_.begin_round_apart(round);  // may take a member down as it starts
  }

  SimContext& ctx_;
  FailurePlan& failures_;
  const SurvivorExchange& exchange_;
  std::vector<sg4::Host*> hosts_;
  std::vector<bool> joining_;  // came back, waits for the next round
  int stride_;                 // tags per attempt
  bool check_routes_;          // links may fail: members must reach one another
  int attempt_link_failures_ = 0;  // link failures before the attempt under way began
  int round_ = 0;
  int attempt_ = 0;
  std::vector<int> members_;    // the members of the round's current attempt
  std::vector<int> completed_;  // members that completed it
  struct Closer {
    int worker = -1;
    aid_t pid = -1;
  };
  Closer closer_;     // the member closing the round, if one is
  int aggregated_ = 0;  // the last round aggregated
  Waiters waiters_;
  unsigned on_state_change_ = 0;
};

class ResilientCollectiveWorker {
 public:
  ResilientCollectiveWorker(SimContext& context, RoundCoordinator& coordinator, int worker)
      : ctx_(context), coordinator_(coordinator), worker_(worker) {}

  void operator()() {
    Peer peer(ctx_, worker_);
    const bool restarted = ctx_.failures->count_start(worker_) > 0;
    int round = 1;
    if (restarted) {
      round = coordinator_.join(peer);
      if (round < 0) return;
      peer.ledger().waited();
    } else {
      coordinator_.start(peer);
    }
    auto trainer = ctx_.experiment->make_trainer(worker_);
    // Back from a failure: from the current global model, not the initial one.
    auto role = restarted && !ctx_.bare ? make_worker(ctx_.experiment->algorithm, worker_, ctx_.server->model())
                                        : ctx_.make_worker_role(worker_);
    auto& upload = ctx_.uploads[static_cast<std::size_t>(worker_)];
    while (round > 0 && !ctx_.finished) {
      compute_round(*role, round, ctx_.server->broadcast(), trainer, upload, peer.ledger());
      round = coordinator_.exchange_and_close(peer, round);
    }
  }

 private:
  SimContext& ctx_;
  RoundCoordinator& coordinator_;
  int worker_;
};

class ResilientCollective final : public Topology {
 public:
  explicit ResilientCollective(std::unique_ptr<SurvivorExchange> exchange) : exchange_(std::move(exchange)) {}

  void check_routes(const Placed& placed, const AlgorithmSetup& /*setup*/) override {
    std::vector<WorkerLink> links;
    for (int a = 0; a < static_cast<int>(placed.workers.size()); ++a)
      for (int b = a + 1; b < static_cast<int>(placed.workers.size()); ++b)
        links.push_back({a, b, fmt::format("workers {} and {} (with failures any two may exchange)", a, b)});
    require_routes(placed, links);
  }

  void create_actors(SimContext& context, const Placed& placed) override {
    exchange_->prepare(context.worker_zone);
    coordinator_ = std::make_unique<RoundCoordinator>(context, *exchange_, placed.workers);
    for (std::size_t k = 0; k < placed.workers.size(); ++k)
      sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k],
                         ResilientCollectiveWorker(context, *coordinator_, static_cast<int>(k)))
          ->set_auto_restart(true);  // when its host comes back
  }

 private:
  std::unique_ptr<SurvivorExchange> exchange_;
  std::unique_ptr<RoundCoordinator> coordinator_;
};

}  // namespace

std::unique_ptr<Topology> make_resilient_collective(std::unique_ptr<SurvivorExchange> exchange) {
  return std::make_unique<ResilientCollective>(std::move(exchange));
}

}  // namespace dmlsim
