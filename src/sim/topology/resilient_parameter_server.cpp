// The parameter-server star when the scenario has <failures> (world/failures.hpp): the same server
// and worker roles as the star of parameter_server.cpp, with messaging that survives hosts and
// links going down.
// - The server waits for a round's uploads until `timeout` after its broadcast, then aggregates
//   the uploads it has (in worker order) and goes on with the survivors: a worker whose upload did
//   not come in time leaves the server's view, and the failure plan books the round as missed
//   (its partition's rows out of training) against the failure that cut it off.
// - Every worker has a standing receive at the server (mailbox "upload-k"), posted again as soon
//   as it completes or fails, so a late upload or a join is always taken: either brings the worker
//   back into the server's view at its next broadcast.
// - A worker whose transfer fails (a link went down) asks to join again, every `timeout` until it
//   gets through. A worker whose host comes back restarts (SimGrid's auto-restart) with its roles
//   made from the current global model and asks to join.
// - The server's host going down ends the run (exit 3 with the reason); so does a round in which
//   no worker is in the server's view and none can come back.
// The server holds K pending receives, so each completion costs O(K) (SimGrid 3.32): meant for the
// tens of workers of a failure study, not the scale runs of the plain star.
#include "algorithms/asynchronous.hpp"
#include "algorithms/registry.hpp"
#include "sim/comm_waits.hpp"
#include "sim/topology/star_messages.hpp"
#include "sim/topology/topology.hpp"
#include "world/failures.hpp"

#include <fmt/format.h>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

constexpr int kJoinTag = 2;  // after kBroadcastTag and kUploadTag (star_messages.hpp)

double now() { return sg4::Engine::get_clock(); }

// What the server's next wait brought.
struct Event {
  enum Kind { Timeout, Arrived, Failed } kind = Timeout;
  int worker = -1;
  std::unique_ptr<Message> message;
};

// One standing receive per worker (mailbox "upload-k"), posted again as soon as it completes or
// fails, so whatever a worker sends is always taken.
class StandingReceives {
 public:
  explicit StandingReceives(std::size_t workers) : slots_(workers, nullptr), receives_(workers) {
    for (std::size_t k = 0; k < workers; ++k) post(static_cast<int>(k));
  }
  ~StandingReceives() {
    for (auto& receive : receives_) receive->cancel();
  }
  StandingReceives(const StandingReceives&) = delete;
  StandingReceives& operator=(const StandingReceives&) = delete;

  // The next upload, join or failed transfer, or a timeout after `timeout` seconds (< 0: none).
  Event next(double timeout) {
    std::vector<sg4::CommPtr> pending(receives_.begin(), receives_.end());
    ssize_t index = -1;
    try {
      index = sg4::Comm::wait_any_for(pending, timeout);
    } catch (const simgrid::Exception&) {
      for (std::size_t k = 0; k < pending.size(); ++k)
        if (pending[k]->get_state() == sg4::Activity::State::FAILED) {
          post(static_cast<int>(k));
          return {Event::Failed, static_cast<int>(k), nullptr};
        }
      throw;
    }
    if (index < 0) return {};
    const auto k = static_cast<std::size_t>(index);
    std::unique_ptr<Message> message(slots_[k]);
    post(static_cast<int>(k));
    return {Event::Arrived, static_cast<int>(k), std::move(message)};
  }

 private:
  void post(int worker) {
    const auto k = static_cast<std::size_t>(worker);
    receives_[k] = sg4::Mailbox::by_name(upload_mailbox(worker))->get_async<Message>(&slots_[k]);
  }

  std::vector<Message*> slots_;  // where each receive puts its message
  std::vector<sg4::CommPtr> receives_;
};

// The broadcasts and replies of both servers: detached sends, so one that fails (its worker or a
// link went down) does not stop the server, which learns of it by the missing upload. None goes to
// a host that is down: it could not connect (and SimGrid 3.32 asserts on a transfer to a host that
// is off).
void send_model(SimContext& ctx, const sg4::Host* host, int worker, int round, std::shared_ptr<const Vector> values) {
  if (!host->is_on()) return;
  auto message = std::make_unique<Message>(Message{round, kBroadcastTag, -1, ctx.sizes.whole(), now(), std::move(values)});
  ctx.count(*message, ctx.server_zone, ctx.worker_zone[static_cast<std::size_t>(worker)]);
  const auto bytes = message->bytes;
  sg4::Mailbox::by_name(worker_mailbox(worker))
      ->put_init(message.release(), bytes)
      ->detach([](void* m) { delete static_cast<Message*>(m); });
}

class ResilientServer {
 public:
  ResilientServer(SimContext& context, std::vector<sg4::Host*> hosts)
      : ctx_(context), failures_(*context.failures), hosts_(std::move(hosts)) {}

  void operator()() {
    const auto workers = ctx_.uploads.size();
    StandingReceives receives(workers);
    receives_ = &receives;
    in_view_.assign(workers, true);
    auto& role = *ctx_.server;
    SimProbe probe(ctx_);
    ctx_.monitor->start(role.model(), probe);
    for (int round = 1;; ++round) {
      failures_.begin_round(round);  // may take this host down: the actor ends here
      if (!wait_for_a_worker(round)) break;
      run_round(role, round);
      if (!ctx_.monitor->after_round(round, role.model(), probe)) break;
    }
    if (!failures_.fatal().empty()) return;
    ctx_.monitor->finish(role.model(), now());
    failures_.end();
    ctx_.finished = true;
  }

 private:
  // Any message from a worker out of the server's view (a join, or an upload that came too late)
  // brings it back in from the next broadcast.
  void admit(const Event& event) {
    if (event.kind == Event::Arrived) in_view_[static_cast<std::size_t>(event.worker)] = true;
  }

  // Before a round: at least one worker in view, waiting for one to come back if none is.
  bool wait_for_a_worker(int round) {
    while (std::find(in_view_.begin(), in_view_.end(), true) == in_view_.end()) {
      if (!failures_.comeback_possible()) {
        failures_.stop(fmt::format("every worker is down or cut off from the server at {} s (round {}) and none is due "
                                   "back", now(), round));
        return false;
      }
      admit(receives_->next(-1));
    }
    return true;
  }

  void run_round(ServerRole& role, int round) {
    const auto chosen = role.participants(round, static_cast<int>(in_view_.size()));
    std::vector<int> sent;
    for (int k : chosen)
      if (in_view_[static_cast<std::size_t>(k)]) sent.push_back(k);
    broadcast(round, role.broadcast(), sent);
    const int needed = role.uploads_needed(static_cast<int>(chosen.size()));
    auto gathered = gather(round, sent, needed);
    const auto used = first_arrivals(gathered.arrived, needed);
    // Short of the uploads it needs, the server stops counting on those that did not come; with
    // enough (backup workers), the others were dropped by design, not lost.
    const bool short_of_uploads = static_cast<int>(gathered.arrived.size()) < needed;
    for (int k : chosen) {
      const bool was_sent = std::find(sent.begin(), sent.end(), k) != sent.end();
      const bool came = std::find(used.begin(), used.end(), k) != used.end();
      if (!was_sent || (short_of_uploads && !came)) failures_.missed(k, round);
      if (was_sent && short_of_uploads && !came) in_view_[static_cast<std::size_t>(k)] = false;
    }
    for (int k : gathered.rejoined) in_view_[static_cast<std::size_t>(k)] = true;
    aggregate(role, round, gathered, used);
  }

  // What came in before the round's deadline.
  struct Gathered {
    std::vector<Arrival> arrived;  // the round's uploads, in arrival order
    std::vector<Upload> uploads;   // slot k: worker k's, as it was when it arrived
    std::vector<int> rejoined;     // a join or a stale upload: back in view next round
  };

  // Takes uploads of `round` from the `waiting` workers until `needed` are in, none is awaited any
  // more (each came or its transfer failed) or `timeout` has passed since the broadcast.
  Gathered gather(int round, std::vector<int> waiting, int needed) {
    Gathered g;
    g.uploads.resize(in_view_.size());
    const double deadline = now() + failures_.timeout();
    while (static_cast<int>(g.arrived.size()) < needed && !waiting.empty() && now() < deadline) {
      auto event = receives_->next(deadline - now());
      if (event.kind == Event::Timeout) break;
      const auto it = std::find(waiting.begin(), waiting.end(), event.worker);
      const bool awaited = it != waiting.end();
      if (event.kind == Event::Failed) {
        if (awaited) waiting.erase(it);
      } else if (awaited && event.message->tag == kUploadTag && event.message->round == round) {
        waiting.erase(it);
        g.arrived.push_back({now(), event.worker});
        g.uploads[static_cast<std::size_t>(event.worker)] = ctx_.uploads[static_cast<std::size_t>(event.worker)];
      } else {
        g.rejoined.push_back(event.worker);
      }
    }
    return g;
  }

  void aggregate(ServerRole& role, int round, Gathered& gathered, const std::vector<int>& used) {
    std::vector<Arrival> arrivals;
    std::vector<Upload> taken;
    for (int k : used) {
      arrivals.push_back(*std::find_if(gathered.arrived.begin(), gathered.arrived.end(),
                                       [k](const Arrival& a) { return a.worker == k; }));
      taken.push_back(std::move(gathered.uploads[static_cast<std::size_t>(k)]));
    }
    failures_.aggregated(round, arrivals);
    if (!taken.empty()) role.aggregate(taken);  // nothing came: the global model stays as it is
  }

  void broadcast(int round, const Vector& values, const std::vector<int>& to) {
    auto shared = std::make_shared<const Vector>(values);
    for (int k : to) send_model(ctx_, hosts_[static_cast<std::size_t>(k)], k, round, shared);
  }

  SimContext& ctx_;
  FailurePlan& failures_;
  StandingReceives* receives_ = nullptr;
  std::vector<bool> in_view_;  // the server broadcasts to these workers
  std::vector<sg4::Host*> hosts_;  // worker k's host
};

// The asynchronous star (ASGD, SSP, asynchronous EASGD; see async_parameter_server.cpp) under
// failures: the server applies every push on arrival and replies to the pushers the staleness bound
// lets go. A worker whose push has not come `timeout` after the server's reply to it (or whose
// transfer failed) leaves the server's view and no longer holds the others back under the bound; a
// join, or a push that comes too late (dropped), brings it back level with the slowest worker, with
// a reply of the current model. The others never wait for it.
class ResilientAsyncServer {
 public:
  ResilientAsyncServer(SimContext& context, std::vector<sg4::Host*> hosts, int staleness_bound)
      : ctx_(context), failures_(*context.failures), hosts_(std::move(hosts)), bound_(staleness_bound) {}

  void operator()() {
    const auto workers = hosts_.size();
    StandingReceives receives(workers);
    auto& role = *ctx_.server;
    AsyncProtocol protocol(role, static_cast<int>(workers), bound_);
    protocol_ = &protocol;
    SimProbe probe(ctx_);
    in_view_.assign(workers, true);
    awaited_.assign(workers, false);
    replied_at_.assign(workers, 0.0);
    ctx_.monitor->start(role.model(), probe);
    for (std::size_t k = 0; k < workers; ++k) reply(static_cast<int>(k));
    for (bool running = true; running;) {
      if (!someone_in_view()) return;
      auto event = receives.next(time_to_next_deadline());
      if (event.kind == Event::Timeout) {
        for (std::size_t k = 0; k < workers; ++k)
          if (awaited_[k] && replied_at_[k] + failures_.timeout() <= now()) lose(static_cast<int>(k));
      } else if (event.kind == Event::Failed) {
        if (awaited_[static_cast<std::size_t>(event.worker)]) lose(event.worker);
      } else if (event.message->tag == kUploadTag && awaited_[static_cast<std::size_t>(event.worker)]) {
        running = apply(event.worker, *event.message, probe);
      } else {
        come_back(event.worker);  // a join, or a push from a worker the server had lost
      }
    }
    ctx_.monitor->finish(role.model(), now());
    ctx_.record.staleness_histogram = protocol.staleness_histogram();
    failures_.end();
    ctx_.finished = true;
  }

 private:
  bool apply(int worker, const Message& push, SimProbe& probe) {
    awaited_[static_cast<std::size_t>(worker)] = false;
    const int update = static_cast<int>(protocol_->version()) + 1;
    failures_.begin_round(update);  // failures due at this server update; may take this host down
    const auto released = protocol_->push(ctx_.uploads[static_cast<std::size_t>(worker)],
                                          static_cast<std::uint64_t>(push.round));
    failures_.set_participants(update, static_cast<int>(std::count(in_view_.begin(), in_view_.end(), true)));
    for (std::size_t k = 0; k < in_view_.size(); ++k)
      if (!in_view_[k]) failures_.went_on_without(static_cast<int>(k), update);
    if (!ctx_.monitor->after_round(update, ctx_.server->model(), probe)) return false;
    for (int k : released) reply(k);
    return true;
  }

  void lose(int worker) {
    failures_.missed(worker, static_cast<int>(protocol_->version()) + 1);  // the push it owed is lost
    in_view_[static_cast<std::size_t>(worker)] = false;
    awaited_[static_cast<std::size_t>(worker)] = false;
    for (int k : protocol_->leave(worker)) reply(k);
  }

  void come_back(int worker) {
    if (!in_view_[static_cast<std::size_t>(worker)]) protocol_->rejoin(worker);
    in_view_[static_cast<std::size_t>(worker)] = true;
    reply(worker);
  }

  void reply(int worker) {
    const auto k = static_cast<std::size_t>(worker);
    send_model(ctx_, hosts_[k], worker, static_cast<int>(protocol_->version()),
               std::make_shared<const Vector>(ctx_.server->model()));
    awaited_[k] = true;
    replied_at_[k] = now();
  }

  // Seconds until the earliest awaited push is overdue (-1: none is awaited).
  double time_to_next_deadline() const {
    double earliest = -1;
    for (std::size_t k = 0; k < awaited_.size(); ++k)
      if (awaited_[k] && (earliest < 0 || replied_at_[k] < earliest)) earliest = replied_at_[k];
    return earliest < 0 ? -1 : std::max(0.0, earliest + failures_.timeout() - now());
  }

  bool someone_in_view() {
    if (std::find(in_view_.begin(), in_view_.end(), true) != in_view_.end() || failures_.comeback_possible()) return true;
    failures_.stop(fmt::format("every worker is down or cut off from the server at {} s (server update {}) and none is "
                               "due back", now(), protocol_->version()));
    return false;
  }

  SimContext& ctx_;
  FailurePlan& failures_;
  std::vector<sg4::Host*> hosts_;
  int bound_;
  AsyncProtocol* protocol_ = nullptr;
  std::vector<bool> in_view_;
  std::vector<bool> awaited_;  // replied to, its push not in yet
  std::vector<double> replied_at_;
};

class ResilientWorker {
 public:
  ResilientWorker(SimContext& context, int worker, bool asynchronous)
      : ctx_(context), worker_(worker), asynchronous_(asynchronous) {}

  // Daemon: the simulation ends when the server does, with the workers waiting for a broadcast.
  void operator()() {
    auto* inbox = sg4::Mailbox::by_name(worker_mailbox(worker_));
    inbox->set_receiver(sg4::Actor::self());
    server_ = sg4::Mailbox::by_name(upload_mailbox(worker_));
    const bool restarted = ctx_.failures->count_start(worker_) > 0;
    auto trainer = ctx_.experiment->make_trainer(worker_);
    // Back from a failure: from the current global model, not the initial one.
    auto role = restarted && !ctx_.bare ? make_worker(ctx_.experiment->algorithm, worker_, ctx_.server->model())
                                        : ctx_.make_worker_role(worker_);
    auto& upload = ctx_.uploads[static_cast<std::size_t>(worker_)];
    TimeLedger ledger(ctx_, worker_);
    if (restarted) join();

    for (int push = 1;; ++push) {
      std::unique_ptr<Message> message;
      try {
        message = receive_unique<Message>(inbox);
        while (inbox->ready()) message = receive_unique<Message>(inbox);  // back after a gap: the newest
      } catch (const simgrid::Exception&) {  // a broadcast failed on the way
        join();
        continue;
      }
      ledger.received(message->sent_at);
      // An asynchronous worker's batches are keyed by its push number, as in async_parameter_server.cpp.
      compute_round(*role, asynchronous_ ? push : message->round, *message->values, trainer, upload, ledger);
      if (!send(message->round, kUploadTag, ctx_.sizes.whole())) join();
      ledger.communicated();
    }
  }

 private:
  // False when the transfer failed (a link or the server's host went down under it).
  bool send(int round, int tag, std::uint64_t bytes) {
    auto message = message_to_server(ctx_, worker_, round, tag, bytes);
    try {
      send_to(server_, message.get(), bytes);
    } catch (const simgrid::Exception&) {
      return false;
    }
    message.release();  // the server owns it now
    return true;
  }

  // Asks the server to count on this worker again, every timeout until a message gets through.
  void join() {
    while (!send(0, kJoinTag, ctx_.sizes.header)) sg4::this_actor::sleep_for(ctx_.failures->timeout());
  }

  SimContext& ctx_;
  int worker_;
  bool asynchronous_;
  sg4::Mailbox* server_ = nullptr;
};

class ResilientParameterServer final : public StarTopology {
 public:
  void create_actors(SimContext& context, const Placed& placed) override {
    const auto& params = context.experiment->algorithm.params;
    const bool asynchronous = params.algorithm().asynchronous();
    for (std::size_t k = 0; k < placed.workers.size(); ++k) {
      auto worker = sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k],
                                       ResilientWorker(context, static_cast<int>(k), asynchronous));
      worker->daemonize();
      worker->set_auto_restart(true);  // when its host comes back; after daemonize(), which it keeps
    }
    if (asynchronous)
      sg4::Actor::create("server", placed.server,
                         ResilientAsyncServer(context, placed.workers, params.algorithm().staleness_bound(params)));
    else
      sg4::Actor::create("server", placed.server, ResilientServer(context, placed.workers));
  }
};

}  // namespace

std::unique_ptr<Topology> make_resilient_parameter_server(const TopologySpec&) {
  return std::make_unique<ResilientParameterServer>();
}

}  // namespace dmlsim
