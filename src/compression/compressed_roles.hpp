// Compression as a payload transform around any algorithm's roles, so it works with every
// algorithm and every topology. What travels is the change from the vector the receiver already
// holds, compressed; the receiver adds the rounded change:
//   upload:    worker k sends C_k(u_k - b̂) where b̂ is the vector it received; the aggregation sees
//              b̂ + C_k(u_k - b̂). An upload that is a gradient or a change (WorkerRole::
//              uploads_a_model() false: SSGD, ASGD, SSP, asynchronous EASGD) is sent as C_k(u_k):
//              the server holds nothing it could be a change from. Sparsified uploads keep error
//              feedback per worker.
//   broadcast: the server sends C(b - b̂_prev); every worker sees b̂ = b̂_prev + C(b - b̂_prev), which
//              starts at the initial model (every host derives it from the seed). What was not
//              sent stays in b - b̂ and goes with the next broadcast, so no separate memory.
// The algorithm's own maths is untouched: its server keeps its exact model, its workers start from
// what they received. Lossless settings (fp64, k = all) install no wrapper: nothing changes.
#pragma once

#include "algorithms/algorithm.hpp"
#include "compression/codec.hpp"

#include <memory>

namespace dmlsim {

std::unique_ptr<ServerRole> compress_server(std::unique_ptr<ServerRole> inner, const CompressionSpec& spec,
                                            const Vector& initial, std::uint64_t seed);
std::unique_ptr<WorkerRole> compress_worker(std::unique_ptr<WorkerRole> inner, const CompressionSpec& spec,
                                            const Vector& initial, std::uint64_t seed, int worker);

}  // namespace dmlsim
