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

constexpr int kBroadcastTag = 0;
constexpr int kUploadTag = 1;
constexpr int kJoinTag = 2;

std::string upload_mailbox(int worker) { return "upload-" + std::to_string(worker); }

double now() { return sg4::Engine::get_clock(); }

// What the server's next wait brought.
struct Event {
  enum Kind { Timeout, Arrived, Failed } kind = Timeout;
  int worker = -1;
  std::unique_ptr<Message> message;
};

class ResilientServer {
 public:
  ResilientServer(SimContext& context, std::vector<sg4::Host*> hosts)
      : ctx_(context), failures_(*context.failures), hosts_(std::move(hosts)) {}

  void operator()() {
    const auto workers = ctx_.uploads.size();
    slots_.assign(workers, nullptr);
    receives_.resize(workers);
    in_view_.assign(workers, true);
    for (std::size_t k = 0; k < workers; ++k) post(static_cast<int>(k));
    auto& role = *ctx_.server;
    SimProbe probe(ctx_);
    ctx_.monitor->start(role.model(), probe);
    for (int round = 1;; ++round) {
      failures_.begin_round(round);  // may take this host down: the actor ends here
      if (!wait_for_a_worker(round)) break;
      run_round(role, round);
      if (!ctx_.monitor->after_round(round, role.model(), probe)) break;
    }
    for (auto& receive : receives_) receive->cancel();
    if (!failures_.fatal().empty()) return;
    ctx_.monitor->finish(role.model(), now());
    ctx_.finished = true;
  }

 private:
  void post(int worker) {
    const auto k = static_cast<std::size_t>(worker);
    receives_[k] = sg4::Mailbox::by_name(upload_mailbox(worker))->get_async<Message>(&slots_[k]);
  }

  // The next upload, join or failed transfer, or a timeout after `timeout` seconds (< 0: none).
  Event next(double timeout) {
    std::vector<sg4::CommPtr> pending;
    std::vector<int> who;
    for (std::size_t k = 0; k < receives_.size(); ++k) {
      pending.push_back(receives_[k]);
      who.push_back(static_cast<int>(k));
    }
    ssize_t index = -1;
    try {
      index = sg4::Comm::wait_any_for(pending, timeout);
    } catch (const simgrid::Exception&) {
      for (std::size_t i = 0; i < pending.size(); ++i)
        if (pending[i]->get_state() == sg4::Activity::State::FAILED) {
          post(who[i]);
          return {Event::Failed, who[i], nullptr};
        }
      throw;
    }
    if (index < 0) return {};
    const int k = who[static_cast<std::size_t>(index)];
    std::unique_ptr<Message> message(slots_[static_cast<std::size_t>(k)]);
    post(k);
    return {Event::Arrived, k, std::move(message)};
  }

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
      admit(next(-1));
    }
    return true;
  }

  void run_round(ServerRole& role, int round) {
    const int workers = static_cast<int>(in_view_.size());
    const auto chosen = role.participants(round, workers);
    std::vector<int> sent;
    for (int k : chosen)
      if (in_view_[static_cast<std::size_t>(k)]) sent.push_back(k);
    broadcast(round, role.broadcast(), sent);
    const int needed = role.uploads_needed(static_cast<int>(chosen.size()));
    const double deadline = now() + failures_.timeout();

    std::vector<int> waiting = sent;
    std::vector<int> rejoined;  // a join or a stale upload this round: back in view next round
    std::vector<Arrival> arrived;
    std::vector<Upload> uploads(static_cast<std::size_t>(workers));
    while (static_cast<int>(arrived.size()) < needed && !waiting.empty() && now() < deadline) {
      auto event = next(deadline - now());
      if (event.kind == Event::Timeout) break;
      const auto it = std::find(waiting.begin(), waiting.end(), event.worker);
      const bool awaited = it != waiting.end();
      if (event.kind == Event::Failed) {
        if (awaited) waiting.erase(it);
      } else if (awaited && event.message->tag == kUploadTag && event.message->round == round) {
        waiting.erase(it);
        arrived.push_back({now(), event.worker});
        uploads[static_cast<std::size_t>(event.worker)] = ctx_.uploads[static_cast<std::size_t>(event.worker)];
      } else {
        rejoined.push_back(event.worker);
      }
    }
    const bool short_of_uploads = static_cast<int>(arrived.size()) < needed;
    std::vector<int> used = first_arrivals(arrived, needed);
    for (int k : chosen) {
      const bool was_sent = std::find(sent.begin(), sent.end(), k) != sent.end();
      const bool came = std::find(used.begin(), used.end(), k) != used.end();
      if (!was_sent || (short_of_uploads && !came)) failures_.missed(k, round);
      if (was_sent && short_of_uploads && !came) in_view_[static_cast<std::size_t>(k)] = false;
    }
    for (int k : rejoined) in_view_[static_cast<std::size_t>(k)] = true;
    std::vector<Arrival> used_arrivals;
    std::vector<Upload> taken;
    for (int k : used) {
      used_arrivals.push_back(*std::find_if(arrived.begin(), arrived.end(), [k](const Arrival& a) { return a.worker == k; }));
      taken.push_back(std::move(uploads[static_cast<std::size_t>(k)]));
    }
    failures_.aggregated(round, used_arrivals);
    if (!taken.empty()) role.aggregate(taken);  // nothing came: the global model stays as it is
  }

  // Detached sends: a broadcast that fails (its worker or a link went down) must not stop the
  // server, which learns of it by the missing upload. None goes to a host that is down: it could
  // not connect (and SimGrid 3.32 asserts on a transfer to a host that is off).
  void broadcast(int round, const Vector& values, const std::vector<int>& to) {
    auto shared = std::make_shared<const Vector>(values);
    for (int worker : to) {
      const auto k = static_cast<std::size_t>(worker);
      if (!hosts_[k]->is_on()) continue;
      auto message = std::make_unique<Message>(Message{round, kBroadcastTag, -1, ctx_.sizes.whole(), now(), shared});
      ctx_.count(*message, ctx_.server_zone, ctx_.worker_zone[k]);
      const auto bytes = message->bytes;
      sg4::Mailbox::by_name(worker_mailbox(worker))
          ->put_init(message.release(), bytes)
          ->detach([](void* m) { delete static_cast<Message*>(m); });
    }
  }

  SimContext& ctx_;
  FailurePlan& failures_;
  std::vector<Message*> slots_;  // where each standing receive puts its message
  std::vector<sg4::CommPtr> receives_;
  std::vector<bool> in_view_;  // the server broadcasts to these workers
  std::vector<sg4::Host*> hosts_;  // worker k's host
};

class ResilientWorker {
 public:
  ResilientWorker(SimContext& context, int worker) : ctx_(context), worker_(worker) {}

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

    for (;;) {
      std::unique_ptr<Message> message;
      try {
        message = inbox->get_unique<Message>();
        while (inbox->ready()) message = inbox->get_unique<Message>();  // back after a gap: the newest
      } catch (const simgrid::Exception&) {  // a broadcast failed on the way
        join();
        continue;
      }
      ledger.received(message->sent_at);
      compute_round(*role, message->round, *message->values, trainer, upload, ledger);
      if (!send(message->round, kUploadTag, ctx_.sizes.whole())) join();
      ledger.communicated();
    }
  }

 private:
  // False when the transfer failed (a link or the server's host went down under it).
  bool send(int round, int tag, std::uint64_t bytes) {
    auto message = std::make_unique<Message>(Message{round, tag, worker_, bytes, now(), nullptr});
    ctx_.count(*message, ctx_.worker_zone[static_cast<std::size_t>(worker_)], ctx_.server_zone);
    try {
      server_->put(message.get(), bytes);
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
  sg4::Mailbox* server_ = nullptr;
};

class ResilientParameterServer final : public Topology {
 public:
  void create_actors(SimContext& context, const Placed& placed) override {
    for (std::size_t k = 0; k < placed.workers.size(); ++k) {
      auto worker = sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k],
                                       ResilientWorker(context, static_cast<int>(k)));
      worker->daemonize();
      worker->set_auto_restart(true);  // when its host comes back; after daemonize(), which it keeps
    }
    sg4::Actor::create("server", placed.server, ResilientServer(context, placed.workers));
  }
};

}  // namespace

std::unique_ptr<Topology> make_resilient_parameter_server(const TopologySpec&) {
  return std::make_unique<ResilientParameterServer>();
}

}  // namespace dmlsim
