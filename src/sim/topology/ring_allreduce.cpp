// Ring all-reduce (Baidu, Horovod): the K workers in worker order form a ring; a round is a
// reduce-scatter then an all-gather, 2(K-1) steps, each moving one chunk of about S/K bytes to the
// next worker. One round = 2(K-1)K messages; on a contention-free platform 2(K-1)(L + S/(KB)).
#include "sim/topology/collective.hpp"

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
  void exchange(Peer& peer, int round) override { ring_allreduce(peer, ring_, peer.worker(), round, kRingTag); }

 private:
  std::vector<int> ring_;
};

}  // namespace

std::unique_ptr<Topology> make_ring_allreduce(const TopologySpec&) { return std::make_unique<RingAllreduce>(); }

}  // namespace dmlsim
