// The four synchronous algorithms as pure maths, split into the two roles of the parameter-server
// pattern. One round: the server broadcasts a vector, every worker runs its local work on it and
// uploads a vector, the server aggregates the K uploads (always in worker order, so floating-point
// sums do not depend on message arrival order). The same roles run inside SimGrid actors
// (src/sim/) and in the plain sequential driver used by the golden tests and benchmarks.
#pragma once

#include "algorithms/attributes.hpp"
#include "algorithms/gossip_graph.hpp"
#include "compression/codec.hpp"
#include "data/dataset.hpp"
#include "model/batch.hpp"
#include "model/init.hpp"
#include "model/model.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dmlsim {

// What a worker sends back at the end of a round.
struct Upload {
  int worker = 0;
  Vector values;
  double samples = 0;  // rows in the batches behind `values` (SSGD's per-sample average needs it)
  double weight = 1;   // the worker's weight in a weighted average (FedAvg: its partition's rows)
};

// When an upload reached the server (simulated seconds; all 0 in the sequential driver).
struct Arrival {
  double time = 0;
  int worker = 0;
};

// The workers of the `needed` earliest arrivals, ties broken by worker id, in worker order.
std::vector<int> first_arrivals(std::vector<Arrival> arrivals, int needed);

// The buffers a gradient is computed in: the gathered batch chunk, the model's workspace, the
// gradients. A trainer needs them only inside gradient(), and the actors of one simulation run one
// at a time, so the K trainers of a run share one scratch (grown to the largest chunk) instead of
// holding K copies of the model's size.
struct TrainerScratch {
  Matrix rows;
  Vector labels;
  std::vector<int> chunk;
  std::unique_ptr<Workspace> workspace;
  Vector grad;
  Vector chunk_grad;
  // Makes room for `chunk_rows` rows of `cols` features for `model`.
  void fit(const Model& model, Eigen::Index chunk_rows, Eigen::Index cols);
};

// A worker's view of its data: its partition of the training set (row indices into the shared
// data set), its batch rule and its random stream. Batches are gathered into a buffer of at most
// kChunkRows rows at a time, so memory per worker is bounded whatever the batch size, and nothing
// is allocated per step. Counts the FLOPs it spends so the simulator can charge them to the host.
class LocalTrainer {
 public:
  static constexpr Eigen::Index kChunkRows = 512;

  // Trainers that never compute concurrently may share `scratch`; without one, the trainer has its own.
  LocalTrainer(const Model& model, const Dataset& train, const std::vector<int>& partition, BatchSpec batch,
               std::uint64_t seed, int worker, double flops_per_sample,
               std::shared_ptr<TrainerScratch> scratch = nullptr);
  // Mean gradient at `w` over a batch drawn for (round, step); returns the batch size.
  int gradient(const Vector& w, int round, int step, Vector& grad);
  // One plain SGD step in place: w <- w - eta·g(w). Returns the batch size.
  int sgd_step(Vector& w, double eta, int round, int step);
  double take_flops();  // FLOPs spent since the last call
  void charge_flops(double flops) { flops_ += flops; }  // work done outside the trainer (bare roles)
  Eigen::Index dim() const { return model_.dim(); }
  double partition_rows() const { return partition_rows_; }
  double expected_batch_rows() const { return sampler_.expected_size(); }

 private:
  const Model& model_;
  const Dataset& train_;
  BatchSampler sampler_;
  BatchSpec spec_;
  std::uint64_t seed_;
  int worker_;
  double flops_per_sample_;
  double partition_rows_;
  Eigen::Index chunk_rows_;  // rows gathered at a time
  std::shared_ptr<TrainerScratch> scratch_;
  double flops_ = 0;
};

class ServerRole {
 public:
  virtual ~ServerRole() = default;
  // The vector sent to every worker this round.
  virtual const Vector& broadcast() = 0;
  // Folds the K uploads (sorted by worker) into the global model.
  virtual void aggregate(const std::vector<Upload>& uploads) = 0;
  // The global (centre) parameters that are evaluated.
  virtual const Vector& model() const = 0;
  // The workers that take part in round `round` (in worker order): all of them unless the
  // algorithm samples clients (FedAvg). Only they receive the broadcast and upload.
  virtual std::vector<int> participants(int round, int workers);
  // How many of the participants' uploads the round aggregates: the earliest ones by arrival
  // (backup workers drop the rest). All of them by default.
  virtual int uploads_needed(int participants) const { return participants; }
  // Whether participants() may leave workers out (client sampling), so simulators must not assume all.
  virtual bool samples_clients() const { return false; }

  // Streaming aggregation, optional: a role that streams() also takes a round's uploads one at a
  // time, in worker order, through fold() and then end_round(), with the same result as
  // aggregate(), so a server can fold each upload as it arrives instead of holding all K. A role
  // that does not stream is handed all K uploads at once.
  virtual bool streams() const { return false; }
  virtual void fold(const Upload& /*upload*/) {}
  virtual void end_round() {}
};

// A server role that aggregates by folding: aggregate() is fold() over the uploads in worker
// order, then end_round(), so the two paths cannot differ.
class StreamingServerRole : public ServerRole {
 public:
  void aggregate(const std::vector<Upload>& uploads) final;
  bool streams() const final { return true; }
  void fold(const Upload& upload) override = 0;
  void end_round() override = 0;
};

class WorkerRole {
 public:
  virtual ~WorkerRole() = default;
  virtual void run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) = 0;
  // Work of round `round` that does not need its received vector (Streaming DiLoCo's overlap): a
  // simulator may run it while that vector is still in transit; run_round() then does the rest.
  // Without a call, run_round() does it all. None by default.
  virtual void run_ahead(int /*round*/, LocalTrainer& /*trainer*/) {}
  // Whether the upload is a model (the receiver holds one close to it: compression sends the change
  // from the vector received) or a gradient or change of its own (the receiver holds nothing to
  // start from: compression sends the upload itself).
  virtual bool uploads_a_model() const { return true; }
};

// The whole-run description shared by the simulator and the sequential driver.
struct AlgorithmSetup {
  AlgorithmParams params;
  int workers = 1;
  std::uint64_t seed = 1;
  InitSpec init;
  CompressionSpec compression;  // payload transform around the roles (none by default)
  // Decentralized algorithms: who talks to whom (the scenario's <topology kind="gossip" graph=…>).
  std::shared_ptr<const GossipGraph> graph = nullptr;
};

// The roles of setup.params.algorithm() (see algorithms/registry.hpp).
std::unique_ptr<ServerRole> make_server(const AlgorithmSetup& setup, const Vector& initial);
std::unique_ptr<WorkerRole> make_worker(const AlgorithmSetup& setup, int worker, const Vector& initial);

// Mean of the uploads' vectors, summed in worker order.
Vector mean_of_uploads(const std::vector<Upload>& uploads);

}  // namespace dmlsim
