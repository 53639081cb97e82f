// Tree all-reduce (Spark's treeAggregate, MPI's binomial reduce + broadcast): the workers form a
// tree rooted at worker 0, k-ary (arity="k") or binomial (shape="binomial"); a round reduces the
// whole vector up the tree, then broadcasts it down. One round = 2(K-1) messages; on a
// contention-free platform 2·depth·(L + S/B). With failures, the same shape over the members that
// are up, in worker order (a dead inner node's subtree is re-parented by the rebuild).
#include "sim/topology/resilient_collective.hpp"
#include "sim/topology/tree_shape.hpp"

#include <algorithm>

#include <numeric>

namespace dmlsim {

TreeNode kary_tree_node(int node, int count, int arity) {
  TreeNode t;
  t.parent = node == 0 ? -1 : (node - 1) / arity;
  for (int c = node * arity + 1; c <= node * arity + arity && c < count; ++c) t.children.push_back(c);
  return t;
}

TreeNode binomial_tree_node(int node, int count) {
  TreeNode t;
  const int lowest = node & -node;  // 0 for the root
  t.parent = node == 0 ? -1 : node - lowest;
  for (int step = 1; (lowest == 0 || step < lowest) && node + step < count; step *= 2) t.children.push_back(node + step);
  return t;
}

std::vector<TreeNode> tree_over(const std::vector<int>& members, const TopologySpec& spec) {
  const int count = static_cast<int>(members.size());
  const auto worker = [&](int node) { return members[static_cast<std::size_t>(node)]; };
  std::vector<TreeNode> tree;
  for (int i = 0; i < count; ++i) {
    auto node = spec.binomial ? binomial_tree_node(i, count) : kary_tree_node(i, count, spec.arity);
    if (node.parent >= 0) node.parent = worker(node.parent);
    for (auto& child : node.children) child = worker(child);
    tree.push_back(std::move(node));
  }
  return tree;
}

int tree_depth(const std::vector<TreeNode>& tree) {
  int deepest = 0;
  for (std::size_t i = 0; i < tree.size(); ++i) {
    int depth = 0;
    for (int n = static_cast<int>(i); tree[static_cast<std::size_t>(n)].parent >= 0; n = tree[static_cast<std::size_t>(n)].parent) ++depth;
    deepest = std::max(deepest, depth);
  }
  return deepest;
}

namespace {

constexpr int kReduceTag = 0;
constexpr int kBroadcastTag = 1;

class Tree final : public CollectiveTopology {
 public:
  explicit Tree(const TopologySpec& spec) : spec_(spec) {}

  void prepare(const std::vector<int>& worker_zones) override {
    ids_.resize(worker_zones.size());
    std::iota(ids_.begin(), ids_.end(), 0);
    nodes_ = tree_over(ids_, spec_);
  }
  std::vector<WorkerLink> links() const override { return tree_links(nodes_, ids_, "tree parent"); }
  void exchange(Peer& peer, int round) override {
    PeerChannel channel(peer, round);
    const auto& node = nodes_[static_cast<std::size_t>(peer.worker())];
    tree_reduce(channel, node, kReduceTag);
    tree_broadcast(channel, node, kBroadcastTag);
  }

 private:
  TopologySpec spec_;
  std::vector<TreeNode> nodes_;
  std::vector<int> ids_;  // node i is worker i
};

class SurvivorTree final : public SurvivorExchange {
 public:
  explicit SurvivorTree(const TopologySpec& spec) : spec_(spec) {}
  bool exchange(Channel& channel, const std::vector<int>& members, int worker) const override {
    const auto position = std::find(members.begin(), members.end(), worker) - members.begin();
    const auto node = tree_over(members, spec_)[static_cast<std::size_t>(position)];
    return tree_reduce(channel, node, kReduceTag) && tree_broadcast(channel, node, kBroadcastTag);
  }
  int tags(int /*workers*/) const override { return 2; }

 private:
  TopologySpec spec_;
};

}  // namespace

std::unique_ptr<Topology> make_tree(const TopologySpec& spec) { return std::make_unique<Tree>(spec); }
std::unique_ptr<Topology> make_resilient_tree(const TopologySpec& spec) {
  return make_resilient_collective(std::make_unique<SurvivorTree>(spec));
}

}  // namespace dmlsim
