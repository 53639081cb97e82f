// Hierarchical (geo) aggregation: the workers of each platform zone (datacenter) reduce to their
// zone's leader (its first worker), the leaders all-reduce across zones (ring, or star on the
// leader of worker 0's zone), and each leader broadcasts the result back to its zone. Only the
// leaders' messages cross zones. One round = 2(K-Z) messages inside the zones plus, across them,
// 2(Z-1)Z (ring) or 2(Z-1) (star). With failures, the same shape over the members that are up, in
// worker order: a zone without its leader is led by its first live member, a zone with no live
// member drops out of the exchange across zones.
#include "sim/topology/resilient_collective.hpp"

#include <algorithm>
#include <numeric>

namespace dmlsim {

namespace {

constexpr int kZoneReduceTag = 0;
constexpr int kZoneBroadcastTag = 1;
constexpr int kStarReduceTag = 2;
constexpr int kStarBroadcastTag = 3;
constexpr int kRingTag = 4;

// The shape over a set of members (node i is worker members[i]).
struct HierarchicalShape {
  std::vector<int> leaders;       // one per zone, its first member, in worker order
  std::vector<TreeNode> in_zone;  // by node: its leader, or (a leader) its zone's other members
  std::vector<TreeNode> across;   // by leader position: the star among leaders
};

HierarchicalShape hierarchical_shape(const std::vector<int>& members, const std::vector<int>& worker_zones) {
  HierarchicalShape shape;
  std::vector<int> zone_of_leader;  // zones in order of their first member
  std::vector<std::size_t> leader_node;
  shape.in_zone.assign(members.size(), TreeNode{});
  for (std::size_t i = 0; i < members.size(); ++i) {
    const int k = members[i];
    const int zone = worker_zones[static_cast<std::size_t>(k)];
    const auto it = std::find(zone_of_leader.begin(), zone_of_leader.end(), zone);
    if (it == zone_of_leader.end()) {
      zone_of_leader.push_back(zone);
      shape.leaders.push_back(k);
      leader_node.push_back(i);
      continue;
    }
    const auto z = static_cast<std::size_t>(it - zone_of_leader.begin());
    shape.in_zone[i].parent = shape.leaders[z];
    shape.in_zone[leader_node[z]].children.push_back(k);
  }
  shape.across.assign(shape.leaders.size(), TreeNode{});
  for (std::size_t i = 1; i < shape.leaders.size(); ++i) {
    shape.across[i].parent = shape.leaders.front();
    shape.across.front().children.push_back(shape.leaders[i]);
  }
  return shape;
}

// Member `node`'s messages of a round: up to its leader, across zones if it leads, back down.
bool hierarchical_exchange(Channel& channel, const HierarchicalShape& shape, std::size_t node, int worker, bool across_ring) {
  const auto& zone = shape.in_zone[node];
  if (!tree_reduce(channel, zone, kZoneReduceTag)) return false;
  const auto leader = std::find(shape.leaders.begin(), shape.leaders.end(), worker);
  if (leader != shape.leaders.end()) {
    const auto position = static_cast<std::size_t>(leader - shape.leaders.begin());
    const bool across = across_ring ? ring_allreduce(channel, shape.leaders, static_cast<int>(position), kRingTag)
                                    : tree_reduce(channel, shape.across[position], kStarReduceTag) &&
                                          tree_broadcast(channel, shape.across[position], kStarBroadcastTag);
    if (!across) return false;
  }
  return tree_broadcast(channel, zone, kZoneBroadcastTag);
}

class Hierarchical final : public CollectiveTopology {
 public:
  explicit Hierarchical(const TopologySpec& spec) : across_ring_(spec.across_ring) {}

  void prepare(const std::vector<int>& worker_zones) override {
    workers_.resize(worker_zones.size());
    std::iota(workers_.begin(), workers_.end(), 0);
    shape_ = hierarchical_shape(workers_, worker_zones);
  }

  std::vector<WorkerLink> links() const override {
    auto links = tree_links(shape_.in_zone, workers_, "zone leader");
    const auto across = across_ring_ ? ring_links(shape_.leaders, "zone leaders")
                                     : tree_links(shape_.across, shape_.leaders, "cross-zone star centre");
    links.insert(links.end(), across.begin(), across.end());
    return links;
  }

  void exchange(Peer& peer, int round) override {
    PeerChannel channel(peer, round);
    hierarchical_exchange(channel, shape_, static_cast<std::size_t>(peer.worker()), peer.worker(), across_ring_);
  }

 private:
  bool across_ring_;
  HierarchicalShape shape_;
  std::vector<int> workers_;  // 0 .. K-1: the shape's node ids
};

class SurvivorHierarchical final : public SurvivorExchange {
 public:
  explicit SurvivorHierarchical(const TopologySpec& spec) : across_ring_(spec.across_ring) {}
  void prepare(const std::vector<int>& worker_zones) override { worker_zones_ = worker_zones; }
  bool exchange(Channel& channel, const std::vector<int>& members, int worker) const override {
    const auto node = std::find(members.begin(), members.end(), worker) - members.begin();
    return hierarchical_exchange(channel, hierarchical_shape(members, worker_zones_), static_cast<std::size_t>(node),
                                 worker, across_ring_);
  }
  int tags(int workers) const override { return kRingTag + 2 * workers; }  // a ring of up to K leaders

 private:
  bool across_ring_;
  std::vector<int> worker_zones_;
};

}  // namespace

std::unique_ptr<Topology> make_hierarchical(const TopologySpec& spec) { return std::make_unique<Hierarchical>(spec); }
std::unique_ptr<Topology> make_resilient_hierarchical(const TopologySpec& spec) {
  return make_resilient_collective(std::make_unique<SurvivorHierarchical>(spec));
}

}  // namespace dmlsim
