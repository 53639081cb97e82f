// The benchmark baseline (`dmlsim run --bare`) as a pair of roles: the same messages and the same
// FLOPs per worker and round as the real algorithm, but no training, aggregation or evaluation —
// what SimGrid alone costs for a run. The actors do not know which roles they run.
#pragma once

#include "algorithms/algorithm.hpp"

#include <memory>

namespace dmlsim {

// Broadcasts `initial` for ever and ignores the uploads.
std::unique_ptr<ServerRole> make_bare_server(const Vector& initial);
// Charges `round_flops` to the trainer every round and uploads nothing.
std::unique_ptr<WorkerRole> make_bare_worker(double round_flops);

}  // namespace dmlsim
