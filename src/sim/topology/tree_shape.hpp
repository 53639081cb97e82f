// The shapes of a reduction tree over n nodes numbered 0..n-1 (root 0), as pure functions.
#pragma once

#include "sim/topology/collective.hpp"

namespace dmlsim {

// k-ary heap order: the parent of i is (i - 1) / k.
TreeNode kary_tree_node(int node, int count, int arity);
// Binomial (MPI's): the parent of i is i with its lowest set bit cleared; the children of i are
// i + 2^j for every 2^j below i's lowest set bit (all j for the root), within the n nodes.
TreeNode binomial_tree_node(int node, int count);
// The tree of `spec` (k-ary or binomial) over `members`: node i is worker members[i], and its
// parent and children are worker ids.
std::vector<TreeNode> tree_over(const std::vector<int>& members, const TopologySpec& spec);
// Hops from the deepest node to the root.
int tree_depth(const std::vector<TreeNode>& tree);

}  // namespace dmlsim
