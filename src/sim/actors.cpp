#include "sim/actors.hpp"

#include <cmath>
#include <fmt/format.h>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Mailbox.hpp>
#include <xbt/log.h>

XBT_LOG_NEW_DEFAULT_CATEGORY(dmlsim_actors, "dmlsim server and worker actors");

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

// A broadcast carries the server's vector (shared, one copy for all K messages); an upload carries
// the worker's vector.
struct Broadcast {
  int round = 0;
  std::shared_ptr<const Vector> values;
  double sent_at = 0;
};

std::string worker_mailbox(int k) { return "worker-" + std::to_string(k); }

class ServerActor {
 public:
  explicit ServerActor(SimContext& context) : ctx_(context), exp_(*context.experiment) {}

  void operator()() {
    auto* inbox = sg4::Mailbox::by_name("server");
    inbox->set_receiver(sg4::Actor::self());
    const int workers = exp_.algorithm.workers;
    for (int k = 0; k < workers; ++k) outboxes_.push_back(sg4::Mailbox::by_name(worker_mailbox(k)));
    auto role = make_server(exp_.algorithm, exp_.initial);
    uploads_.resize(static_cast<std::size_t>(workers));

    record_evaluation(0, role->model());
    ctx_.record.stop_reason = "rounds";
    for (int round = 1; round <= exp_.rounds; ++round) {
      broadcast(round, role->broadcast());
      gather(inbox);
      if (!ctx_.bare) role->aggregate(uploads_);
      ctx_.record.rounds_done = round;
      if (!role->model().allFinite()) {
        ctx_.failure = fmt::format("the model diverged at round {}: the global parameters contain NaN or Inf "
                                   "(try a smaller eta, or standardize=\"true\" in <data>)", round);
        break;
      }
      if (round % ctx_.eval_every == 0 || round == exp_.rounds) {
        record_evaluation(round, role->model());
        if (!std::isfinite(ctx_.record.rows.back().test_loss)) {
          ctx_.failure = fmt::format("the model diverged at round {}: the test loss is {} (try a smaller eta, or "
                                     "standardize=\"true\" in <data>)", round, ctx_.record.rows.back().test_loss);
          break;
        }
        if (ctx_.stop_accuracy && ctx_.record.rows.back().test_accuracy >= *ctx_.stop_accuracy) {
          ctx_.record.stop_reason = "target-accuracy";
          break;
        }
      }
      if (ctx_.max_time && sg4::Engine::get_clock() >= *ctx_.max_time) {
        if (ctx_.record.rows.back().round != round) record_evaluation(round, role->model());
        ctx_.record.stop_reason = "max-time";
        break;
      }
    }
    ctx_.record.final_model = role->model();
    ctx_.record.sim_time = sg4::Engine::get_clock();
    inbox->set_receiver(nullptr);
    ctx_.server_finished = true;
  }

 private:
  void broadcast(int round, const Vector& values) {
    auto shared = std::make_shared<const Vector>(values);
    std::vector<sg4::CommPtr> sends;
    for (auto* outbox : outboxes_) {
      auto message = std::make_unique<Broadcast>(Broadcast{round, shared, sg4::Engine::get_clock()});
      sends.push_back(outbox->put_async(message.release(), ctx_.message_bytes));  // the receiver owns it now
      ctx_.count_message();
    }
    sg4::Comm::wait_all(sends);
  }

  void gather(sg4::Mailbox* inbox) {
    for (std::size_t i = 0; i < uploads_.size(); ++i) {
      auto upload = inbox->get_unique<Upload>();
      // Slot by worker id: aggregation sums in worker order whatever the arrival order.
      uploads_[static_cast<std::size_t>(upload->worker)] = std::move(*upload);
    }
  }

  void record_evaluation(int round, const Vector& w) {
    if (ctx_.charge_eval) sg4::this_actor::execute(exp_.evaluation_flops());
    if (ctx_.bare) {
      ctx_.record.rows.push_back({round, sg4::Engine::get_clock(), 0, 0, 0, ctx_.bytes_sent, ctx_.messages_sent});
      return;
    }
    const auto test = exp_.evaluate_test(w);
    ctx_.record.rows.push_back({round, sg4::Engine::get_clock(), test.accuracy, test.loss, exp_.train_loss(w),
                                ctx_.bytes_sent, ctx_.messages_sent});
    XBT_DEBUG("round %d: accuracy %.6f", round, test.accuracy);
  }


  SimContext& ctx_;
  const Experiment& exp_;
  std::vector<sg4::Mailbox*> outboxes_;
  std::vector<Upload> uploads_;
};

class WorkerActor {
 public:
  WorkerActor(SimContext& context, int worker) : ctx_(context), worker_(worker) {}

  void operator()() {
    const auto& exp = *ctx_.experiment;
    auto* inbox = sg4::Mailbox::by_name(worker_mailbox(worker_));
    inbox->set_receiver(sg4::Actor::self());
    auto* server = sg4::Mailbox::by_name("server");
    auto trainer = exp.make_trainer(worker_);
    auto role = make_worker(exp.algorithm, worker_, exp.initial);
    auto& stats = ctx_.record.workers[static_cast<std::size_t>(worker_)];
    double idle_since = sg4::Engine::get_clock();

    // Daemon: the simulation ends when the server does, with the workers waiting for a broadcast.
    for (;;) {
      auto message = inbox->get_unique<Broadcast>();
      const double now = sg4::Engine::get_clock();
      stats.wait_time += std::max(0.0, message->sent_at - idle_since);
      stats.comm_time += now - std::max(message->sent_at, idle_since);

      auto upload = std::make_unique<Upload>();
      upload->worker = worker_;
      if (!ctx_.bare) role->run_round(message->round, *message->values, trainer, *upload);
      const double flops = ctx_.bare ? ctx_.bare_round_flops : trainer.take_flops();
      sg4::this_actor::execute(flops);
      stats.compute_time += sg4::Engine::get_clock() - now;
      stats.flops += flops;
      stats.samples += static_cast<std::uint64_t>(upload->samples);

      const double send_start = sg4::Engine::get_clock();
      ctx_.count_message();
      server->put(upload.release(), ctx_.message_bytes);
      idle_since = sg4::Engine::get_clock();
      stats.comm_time += idle_since - send_start;
    }
  }

 private:
  SimContext& ctx_;
  int worker_;
};

}  // namespace

void create_actors(SimContext& context, sg4::Host* server, const std::vector<sg4::Host*>& workers) {
  context.record.workers.resize(workers.size());
  for (std::size_t k = 0; k < workers.size(); ++k) {
    context.record.workers[k].worker = static_cast<int>(k);
    context.record.workers[k].host = workers[k]->get_name();
    sg4::Actor::create(fmt::format("worker-{}", k), workers[k], WorkerActor(context, static_cast<int>(k)))->daemonize();
  }
  sg4::Actor::create("server", server, ServerActor(context));
}

}  // namespace dmlsim
