// Tree all-reduce (Spark's treeAggregate, MPI's binomial reduce + broadcast): the workers form a
// tree rooted at worker 0, k-ary (arity="k") or binomial (shape="binomial"); a round reduces the
// whole vector up the tree, then broadcasts it down. One round = 2(K-1) messages; on a
// contention-free platform 2·depth·(L + S/B).
#include "sim/topology/tree_shape.hpp"

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
    const int count = static_cast<int>(worker_zones.size());
    nodes_.clear();
    ids_.resize(worker_zones.size());
    std::iota(ids_.begin(), ids_.end(), 0);
    for (int k = 0; k < count; ++k)
      nodes_.push_back(spec_.binomial ? binomial_tree_node(k, count) : kary_tree_node(k, count, spec_.arity));
  }
  std::vector<WorkerLink> links() const override { return tree_links(nodes_, ids_, "tree parent"); }
  void exchange(Peer& peer, int round) override {
    const auto& node = nodes_[static_cast<std::size_t>(peer.worker())];
    tree_reduce(peer, node, round, kReduceTag);
    tree_broadcast(peer, node, round, kBroadcastTag);
  }

 private:
  TopologySpec spec_;
  std::vector<TreeNode> nodes_;
  std::vector<int> ids_;  // node i is worker i
};

}  // namespace

std::unique_ptr<Topology> make_tree(const TopologySpec& spec) { return std::make_unique<Tree>(spec); }

}  // namespace dmlsim
