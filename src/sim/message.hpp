// What travels between actors (WRENCH's idiom): every message carries its own simulated size, so a
// topology can send whole vectors, chunks of them, or (next) compressed payloads. Uploads are not
// carried: worker k leaves its upload in slot k of the shared round state and the messages only
// time its travel, so the aggregate is computed from the same K uploads, summed in worker order,
// whatever the topology.
#pragma once

#include "model/model.hpp"

#include <cstdint>
#include <functional>
#include <memory>

namespace dmlsim {

struct Message {
  int round = 0;
  int tag = 0;     // which step of the round's exchange; receivers match on it
  int from = -1;   // sending worker (-1: the server)
  std::uint64_t bytes = 0;  // simulated size on the wire
  double sent_at = 0;       // simulated time the send was posted
  std::shared_ptr<const Vector> values;  // a broadcast's vector (one copy shared by all receivers)
};

// Byte sizes of what a topology sends: a whole parameter vector or a chunk of it, each message
// with its header.
struct MessageSizes {
  std::uint64_t parameters = 0;  // simulated parameters of a whole vector
  std::uint64_t bytes_per_param = 8;
  std::uint64_t header = 0;
  // Compressed payloads (src/compression/): the exact bytes of `params` values; empty: uncompressed.
  std::function<std::uint64_t(std::uint64_t params)> encoded = nullptr;
  std::uint64_t whole() const { return of(parameters); }
  std::uint64_t of(std::uint64_t params) const { return (encoded ? encoded(params) : params * bytes_per_param) + header; }
};

// Parameters in chunk `c` of `parts`: the first (parameters mod parts) chunks take one more, so
// sizes differ by at most one parameter and add up to the whole vector.
inline std::uint64_t chunk_parameters(std::uint64_t parameters, int parts, int c) {
  const auto n = static_cast<std::uint64_t>(parts);
  return parameters / n + (static_cast<std::uint64_t>(c) < parameters % n ? 1 : 0);
}

}  // namespace dmlsim
