// What the parameter-server stars (parameter_server.cpp, async_parameter_server.cpp,
// resilient_parameter_server.cpp) send between server and workers: the tags both ends match on,
// and a worker's message to the server, counted in the run's traffic.
#pragma once

#include "sim/sim_context.hpp"

#include <memory>
#include <simgrid/s4u/Engine.hpp>

namespace dmlsim {

// The server's vector to a worker (a broadcast, or an asynchronous server's reply) and a worker's
// upload (or push) back.
constexpr int kBroadcastTag = 0;
constexpr int kUploadTag = 1;

// Worker `worker`'s message of `bytes` to the server, stamped now and counted in the traffic.
inline std::unique_ptr<Message> message_to_server(SimContext& context, int worker, int round, int tag,
                                                  std::uint64_t bytes) {
  auto message = std::make_unique<Message>(
      Message{round, tag, worker, bytes, simgrid::s4u::Engine::get_clock(), nullptr});
  context.count(*message, context.worker_zone[static_cast<std::size_t>(worker)], context.server_zone);
  return message;
}

}  // namespace dmlsim
