#include "sim/topology/broadcast_senders.hpp"
#include "sim/comm_waits.hpp"
#include "sim/topology/star_messages.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

// Posts group `sender` of the round's broadcasts when told, then waits for them to arrive.
class BroadcastSender {
 public:
  BroadcastSender(SimContext& context, BroadcastBoard& board, std::size_t sender)
      : ctx_(context), board_(board), sender_(sender) {}

  // Daemon: the simulation ends when the server does, with the senders waiting for a round.
  void operator()() {
    std::vector<sg4::CommPtr> sends;
    for (;;) {
      board_.go[sender_]->acquire();
      sends.erase(std::remove_if(sends.begin(), sends.end(), [](const sg4::CommPtr& c) { return c->test(); }), sends.end());
      const auto first = sender_ * kWorkersPerSender;
      const auto last = std::min(board_.recipients.size(), first + kWorkersPerSender);
      for (auto i = first; i < last; ++i) {
        const auto k = static_cast<std::size_t>(board_.recipients[i]);
        auto message = std::make_unique<Message>(
            Message{board_.round, kBroadcastTag, -1, board_.bytes, board_.sent_at, board_.values});
        ctx_.count(*message, ctx_.server_zone, ctx_.worker_zone[k]);
        sends.push_back(board_.outboxes[k]->put_async(message.release(), board_.bytes));  // the receiver owns it now
      }
      board_.posted[sender_]->release();
      if (!board_.senders_wait) continue;
      await_comms(sends);
      sends.clear();
      if (board_.report_delivery) board_.delivered[sender_]->release();
    }
  }

 private:
  SimContext& ctx_;
  BroadcastBoard& board_;
  std::size_t sender_;
};

}  // namespace

void BroadcastBoard::address_all(std::size_t workers) {
  for (std::size_t k = 0; k < workers; ++k) {
    outboxes.push_back(sg4::Mailbox::by_name(worker_mailbox(static_cast<int>(k))));
    recipients.push_back(static_cast<int>(k));
  }
}

void BroadcastBoard::broadcast(int round_number, std::uint64_t message_bytes, std::shared_ptr<const Vector> vector) {
  round = round_number;
  sent_at = sg4::Engine::get_clock();
  bytes = message_bytes;
  values = std::move(vector);
  const auto senders = senders_for(recipients.size());
  for (std::size_t g = 0; g < senders; ++g) {
    go[g]->release();
    posted[g]->acquire();
  }
  if (report_delivery)
    for (std::size_t g = 0; g < senders; ++g) delivered[g]->acquire();
}

void create_broadcast_senders(SimContext& context, BroadcastBoard& board, sg4::Host* host, std::size_t workers) {
  for (std::size_t g = 0; g < BroadcastBoard::senders_for(workers); ++g) {
    board.go.push_back(sg4::Semaphore::create(0));
    board.posted.push_back(sg4::Semaphore::create(0));
    board.delivered.push_back(sg4::Semaphore::create(0));
    sg4::Actor::create(fmt::format("broadcast-{}", g), host, BroadcastSender(context, board, g))->daemonize();
  }
}

}  // namespace dmlsim
