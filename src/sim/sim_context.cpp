#include "sim/sim_context.hpp"

#include "sim/bare_roles.hpp"
#include "sim/comm_waits.hpp"

#include <algorithm>
#include <exception>
#include <simgrid/Exception.hpp>
#include <fmt/format.h>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

std::unique_ptr<WorkerRole> SimContext::make_worker_role(int worker) const {
  if (bare) return make_bare_worker(bare_round_flops);
  return make_worker(experiment->algorithm, worker, experiment->initial);
}

void SimContext::compute(int worker, double flops) { sg4::this_actor::execute(flops * slowdown.next(worker)); }

void SimContext::count(const Message& message, int from_zone, int to_zone) {
  traffic.bytes += message.bytes;
  ++traffic.messages;
  (from_zone == to_zone ? traffic.intra_zone_bytes : traffic.inter_zone_bytes) += message.bytes;
}

double SimProbe::now() { return sg4::Engine::get_clock(); }

void SimProbe::charge_evaluation(double flops) { sg4::this_actor::execute(flops); }

RunProbe::WorkerTimes SimProbe::worker_times() {
  WorkerTimes times;
  const auto& workers = ctx_.record.workers;
  if (workers.empty()) return times;
  for (const auto& w : workers) {
    times.compute += w.compute_time;
    times.comm += w.comm_time;
  }
  const auto n = static_cast<double>(workers.size());
  return {times.compute / n, times.comm / n};
}

TimeLedger::TimeLedger(SimContext& context, int worker)
    : ctx_(context),
      worker_(worker),
      stats_(context.stats(worker)),
      since_(context.accounted_until[static_cast<std::size_t>(worker)]) {
  // A worker's actor starts at 0, or again when its host comes back: the gap was down time.
  const double now = sg4::Engine::get_clock();
  stats_.down_time += std::max(0.0, now - since_);
  since_ = now;
}

void TimeLedger::execute(double flops) { ctx_.compute(worker_, flops); }

void TimeLedger::received(double sent_at) {
  const double now = sg4::Engine::get_clock();
  stats_.wait_time += std::max(0.0, sent_at - since_);
  stats_.comm_time += now - std::max(sent_at, since_);
  since_ = now;
}

void TimeLedger::computed() {
  const double now = sg4::Engine::get_clock();
  stats_.compute_time += now - since_;
  since_ = now;
}

void TimeLedger::computed_until(double until) {
  stats_.compute_time += until - since_;
  since_ = until;
}

void TimeLedger::communicated() {
  const double now = sg4::Engine::get_clock();
  stats_.comm_time += now - since_;
  since_ = now;
}

void TimeLedger::waited() {
  const double now = sg4::Engine::get_clock();
  stats_.wait_time += now - since_;
  since_ = now;
}

void compute_round(WorkerRole& role, int round, const Vector& received, LocalTrainer& trainer, Upload& upload,
                   TimeLedger& ledger) {
  role.run_round(round, received, trainer, upload);
  const double flops = trainer.take_flops();
  ledger.execute(flops);
  ledger.computed();
  ledger.stats().flops += flops;
  ledger.stats().samples += static_cast<std::uint64_t>(upload.samples);
}

std::string worker_mailbox(int worker) { return "worker-" + std::to_string(worker); }
std::string upload_mailbox(int worker) { return "upload-" + std::to_string(worker); }

Peer::Peer(SimContext& context, int worker)
    : ctx_(context), worker_(worker), inbox_(sg4::Mailbox::by_name(worker_mailbox(worker))), ledger_(context, worker) {
  inbox_->set_receiver(sg4::Actor::self());
}

Peer::~Peer() noexcept(false) {
  // A daemon killed at the end of the run unwinds through here, and SimGrid forbids simcalls then.
  if (std::uncaught_exceptions() > 0) return;
  if (pending_) pending_->cancel();
  inbox_->set_receiver(nullptr);
}

std::unique_ptr<Message> Peer::message_to(int to, int round, int tag, std::uint64_t bytes,
                                          std::shared_ptr<const Vector> values) {
  auto message =
      std::make_unique<Message>(Message{round, tag, worker_, bytes, sg4::Engine::get_clock(), std::move(values)});
  ctx_.count(*message, ctx_.worker_zone[static_cast<std::size_t>(worker_)], ctx_.worker_zone[static_cast<std::size_t>(to)]);
  return message;
}

sg4::CommPtr Peer::send(int to, int round, int tag, std::uint64_t bytes) {
  // The receiver owns the message once it is sent.
  return sg4::Mailbox::by_name(worker_mailbox(to))->put_async(message_to(to, round, tag, bytes, nullptr).release(), bytes);
}

void Peer::send_detached(int to, int round, int tag, std::uint64_t bytes, std::shared_ptr<const Vector> values) {
  sg4::Mailbox::by_name(worker_mailbox(to))
      ->put_init(message_to(to, round, tag, bytes, std::move(values)).release(), bytes)
      ->detach([](void* m) { delete static_cast<Message*>(m); });
}

void Peer::finish(const sg4::CommPtr& send) {
  await_comm(send);
  ledger_.communicated();
}

void Peer::finish(std::vector<sg4::CommPtr>& sends) {
  await_comms(sends);
  ledger_.communicated();
}

std::unique_ptr<Message> Peer::from_stash(int round, int tag) {
  for (auto it = stash_.begin(); it != stash_.end(); ++it)
    if ((*it)->round == round && (*it)->tag == tag) {
      // Arrived while this worker was busy with an earlier step: no waiting now.
      auto message = std::move(*it);
      stash_.erase(it);
      ledger_.communicated();
      return message;
    }
  return nullptr;
}

std::unique_ptr<Message> Peer::receive(int round, int tag) {
  if (auto message = from_stash(round, tag)) return message;
  for (;;) {
    auto message = receive_unique<Message>(inbox_);
    if (message->round == round && message->tag == tag) {
      ledger_.received(message->sent_at);
      return message;
    }
    stash_.push_back(std::move(message));
  }
}

std::unique_ptr<Message> Peer::receive_within(int round, int tag, double timeout) {
  if (auto message = from_stash(round, tag)) return message;
  const double deadline = sg4::Engine::get_clock() + timeout;
  for (;;) {
    // One receive stays posted across timeouts: a message in flight when the wait gives up is not
    // lost with it.
    if (!pending_) pending_ = inbox_->get_async<Message>(&arrived_);
    std::vector<sg4::CommPtr> pending{pending_};
    ssize_t index = -1;
    try {
      index = sg4::Comm::wait_any_for(pending, std::max(0.0, deadline - sg4::Engine::get_clock()));
    } catch (const simgrid::Exception&) {  // the transfer failed: its sender's host or a link went down
      pending_ = nullptr;
    }
    if (index < 0) {
      ledger_.waited();
      return nullptr;
    }
    pending_ = nullptr;
    std::unique_ptr<Message> message(arrived_);
    if (message->round == round && message->tag == tag) {
      ledger_.received(message->sent_at);
      return message;
    }
    stash_.push_back(std::move(message));
  }
}

void Peer::drop_older(int round, int tag) {
  stash_.erase(std::remove_if(stash_.begin(), stash_.end(),
                              [&](const auto& m) { return m->round < round || (m->round == round && m->tag < tag); }),
               stash_.end());
}

}  // namespace dmlsim
