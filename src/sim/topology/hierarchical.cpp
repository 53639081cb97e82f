// Hierarchical (geo) aggregation: the workers of each platform zone (datacenter) reduce to their
// zone's leader (its first worker), the leaders all-reduce across zones (ring, or star on the
// leader of worker 0's zone), and each leader broadcasts the result back to its zone. Only the
// leaders' messages cross zones. One round = 2(K-Z) messages inside the zones plus, across them,
// 2(Z-1)Z (ring) or 2(Z-1) (star).
#include "sim/topology/collective.hpp"

#include <algorithm>
#include <numeric>

namespace dmlsim {

namespace {

constexpr int kZoneReduceTag = 0;
constexpr int kZoneBroadcastTag = 1;
constexpr int kStarReduceTag = 2;
constexpr int kStarBroadcastTag = 3;
constexpr int kRingTag = 4;

class Hierarchical final : public CollectiveTopology {
 public:
  explicit Hierarchical(const TopologySpec& spec) : across_ring_(spec.across_ring) {}

  void prepare(const std::vector<int>& worker_zones) override {
    const int count = static_cast<int>(worker_zones.size());
    std::vector<int> zone_of_leader;  // zones in order of their first worker
    leaders_.clear();
    in_zone_.assign(static_cast<std::size_t>(count), TreeNode{});
    workers_.resize(static_cast<std::size_t>(count));
    std::iota(workers_.begin(), workers_.end(), 0);
    for (int k = 0; k < count; ++k) {
      const int zone = worker_zones[static_cast<std::size_t>(k)];
      const auto it = std::find(zone_of_leader.begin(), zone_of_leader.end(), zone);
      if (it == zone_of_leader.end()) {
        zone_of_leader.push_back(zone);
        leaders_.push_back(k);
        continue;
      }
      const int leader = leaders_[static_cast<std::size_t>(it - zone_of_leader.begin())];
      in_zone_[static_cast<std::size_t>(k)].parent = leader;
      in_zone_[static_cast<std::size_t>(leader)].children.push_back(k);
    }
    across_.assign(leaders_.size(), TreeNode{});
    for (std::size_t i = 1; i < leaders_.size(); ++i) {
      across_[i].parent = leaders_.front();
      across_.front().children.push_back(leaders_[i]);
    }
  }

  std::vector<WorkerLink> links() const override {
    auto links = tree_links(in_zone_, workers_, "zone leader");
    const auto across = across_ring_ ? ring_links(leaders_, "zone leaders") : tree_links(across_, leaders_, "cross-zone star centre");
    links.insert(links.end(), across.begin(), across.end());
    return links;
  }

  void exchange(Peer& peer, int round) override {
    const auto& zone = in_zone_[static_cast<std::size_t>(peer.worker())];
    tree_reduce(peer, zone, round, kZoneReduceTag);
    const auto leader = std::find(leaders_.begin(), leaders_.end(), peer.worker());
    if (leader != leaders_.end()) {
      const auto position = static_cast<std::size_t>(leader - leaders_.begin());
      if (across_ring_) {
        ring_allreduce(peer, leaders_, static_cast<int>(position), round, kRingTag);
      } else {
        tree_reduce(peer, across_[position], round, kStarReduceTag);
        tree_broadcast(peer, across_[position], round, kStarBroadcastTag);
      }
    }
    tree_broadcast(peer, zone, round, kZoneBroadcastTag);
  }

 private:
  bool across_ring_;
  std::vector<int> leaders_;       // one per zone, in worker order
  std::vector<TreeNode> in_zone_;  // by worker: its leader, or (a leader) its zone's other workers
  std::vector<TreeNode> across_;   // by leader position: the star among leaders
  std::vector<int> workers_;       // 0 .. K-1: in_zone_'s node ids
};

}  // namespace

std::unique_ptr<Topology> make_hierarchical(const TopologySpec& spec) { return std::make_unique<Hierarchical>(spec); }

}  // namespace dmlsim
