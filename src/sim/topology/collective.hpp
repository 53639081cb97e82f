// What the server-less topologies share: K worker actors that compute, run the topology's exchange
// for the round, then close the round together (the last to arrive aggregates the K uploads with
// the algorithm's server role and asks the run monitor whether to go on), and the building blocks
// the exchanges are made of: a ring all-reduce over a group of workers, and a tree reduce and
// broadcast. Every worker reads the next round's vector from the shared server role: the aggregate
// is computed once, as every worker would compute it from the same uploads.
#pragma once

#include "sim/topology/topology.hpp"

#include <simgrid/s4u/Barrier.hpp>

namespace dmlsim {

// Two workers whose messages travel between them, named for a route error ("tree parent 0 and child 1").
struct WorkerLink {
  int a = 0, b = 0;
  std::string who;
};

// require_route for each link between the placed workers.
void require_routes(const Placed& placed, const std::vector<WorkerLink>& links);

class CollectiveTopology : public Topology {
 public:
  // Prepares the shape on the placed workers and requires a route for each of its links.
  void check_routes(const Placed& placed, const AlgorithmSetup& setup) final;
  void create_actors(SimContext& context, const Placed& placed) final;
  // Worker `peer.worker()`'s messages of one round, after its upload is in its slot. On return,
  // the worker holds the round's aggregate.
  virtual void exchange(Peer& peer, int round) = 0;
  // Builds the topology's shape anew for workers in these zones (one entry per worker).
  virtual void prepare(const std::vector<int>& worker_zones) = 0;
  // The pairs of workers the prepared shape sends between.
  virtual std::vector<WorkerLink> links() const = 0;

  // The end of a round, for every worker: the last to arrive aggregates and consults the monitor.
  void close_round(Peer& peer, int round);

 private:
  int arrived_ = 0;
  int workers_ = 0;
  simgrid::s4u::BarrierPtr barrier_;
};

// What the last worker to close a round does: records the initial model (round 0), or aggregates
// the round's uploads and consults the monitor, ending the run when it says so. Returns whether
// the run goes on.
bool aggregate_and_monitor(SimContext& ctx, int round);

// How an exchange's messages travel, for one round: PeerChannel waits for every message; the
// survivors' exchange of a run with failures (resilient_collective.hpp) gives the round's attempt
// up when a member it waits for is down. The exchanges below are written once against it.
class Channel {
 public:
  virtual ~Channel() = default;
  // Starts a send to worker `to`; null when the message is known lost (its host is down).
  virtual simgrid::s4u::CommPtr send(int to, int tag, std::uint64_t bytes) = 0;
  // Waits for the message of `tag`; false when the exchange is given up.
  virtual bool receive(int tag) = 0;
  virtual void finish(const simgrid::s4u::CommPtr& send) = 0;
  virtual void finish(std::vector<simgrid::s4u::CommPtr>& sends) = 0;
  virtual const MessageSizes& sizes() const = 0;
};

// The round's messages through a Peer, as they are without failures.
class PeerChannel final : public Channel {
 public:
  PeerChannel(Peer& peer, int round) : peer_(peer), round_(round) {}
  simgrid::s4u::CommPtr send(int to, int tag, std::uint64_t bytes) override { return peer_.send(to, round_, tag, bytes); }
  bool receive(int tag) override {
    peer_.receive(round_, tag);
    return true;
  }
  void finish(const simgrid::s4u::CommPtr& send) override { peer_.finish(send); }
  void finish(std::vector<simgrid::s4u::CommPtr>& sends) override { peer_.finish(sends); }
  const MessageSizes& sizes() const override { return peer_.context().sizes; }

 private:
  Peer& peer_;
  int round_;
};

// Reduce-scatter then all-gather around `ring` (worker ids; `position` is this worker's index in
// it): 2(n-1) steps, each sending one chunk of the vector to the next worker and receiving one
// from the previous. Tags tag_base .. tag_base + 2(n-1) - 1. False when the channel gave it up.
bool ring_allreduce(Channel& channel, const std::vector<int>& ring, int position, int tag_base);
int ring_step_chunk(int position, int step, int n);

// The links of a ring over `ring` (worker ids, each sending to the next, the last to the first),
// named "LABEL a and b".
std::vector<WorkerLink> ring_links(const std::vector<int>& ring, const std::string& label);

// A node of a reduction tree: its parent (-1 at the root) and its children.
struct TreeNode {
  int parent = -1;
  std::vector<int> children;
};

// Every (parent, child) link of a tree whose node i is worker `ids[i]`, named "LABEL a and child b".
std::vector<WorkerLink> tree_links(const std::vector<TreeNode>& tree, const std::vector<int>& ids, const std::string& label);

// Receives the whole vector from every child, then sends it to the parent (tag `tag`). False when
// the channel gave it up.
bool tree_reduce(Channel& channel, const TreeNode& node, int tag);
// Receives the whole vector from the parent, then sends it to every child (tag `tag`). False when
// the channel gave it up.
bool tree_broadcast(Channel& channel, const TreeNode& node, int tag);

}  // namespace dmlsim
