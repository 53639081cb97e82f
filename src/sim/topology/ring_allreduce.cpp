// Ring all-reduce (Baidu, Horovod): the K workers in worker order form a ring; a round is a
// reduce-scatter then an all-gather, 2(K-1) steps, each moving one chunk of about S/K bytes to the
// next worker. One round = 2(K-1)K messages; on a contention-free platform 2(K-1)(L + S/(KB)).
// With failures, the ring of the members that are up, in worker order.
#include "sim/topology/resilient_collective.hpp"

#include <algorithm>
#include <numeric>

namespace dmlsim {

namespace {

constexpr int kRingTag = 0;

class RingAllreduce final : public CollectiveTopology {
 public:
  void prepare(const std::vector<int>& worker_zones) override {
    ring_.resize(worker_zones.size());
    std::iota(ring_.begin(), ring_.end(), 0);
  }
  std::vector<WorkerLink> links() const override { return ring_links(ring_, "ring neighbours"); }
  void exchange(Peer& peer, int round) override {
    PeerChannel channel(peer, round);
    ring_allreduce(channel, ring_, peer.worker(), kRingTag);
  }

 private:
  std::vector<int> ring_;
};

class SurvivorRing final : public SurvivorExchange {
 public:
  bool exchange(Channel& channel, const std::vector<int>& members, int worker) const override {
    const auto position = std::find(members.begin(), members.end(), worker) - members.begin();
    return ring_allreduce(channel, members, static_cast<int>(position), kRingTag);
  }
  int tags(int workers) const override { return 2 * workers; }  // any ring's 2(n-1) steps
};

}  // namespace

std::unique_ptr<Topology> make_ring_allreduce(const TopologySpec&) { return std::make_unique<RingAllreduce>(); }
std::unique_ptr<Topology> make_resilient_ring(const TopologySpec&) {
  return make_resilient_collective(std::make_unique<SurvivorRing>());
}

}  // namespace dmlsim
