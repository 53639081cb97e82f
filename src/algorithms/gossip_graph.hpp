// The communication graphs of the decentralized algorithms (D-PSGD, AD-PSGD) and their mixing
// weights. Pure code: a graph is K nodes (the workers, 0 … K−1) with sorted neighbour lists; the
// built-in shapes are a ring, a 2-D torus and the complete graph, or an edge list from a file.
// Metropolis–Hastings weights W_ij = 1 / (1 + max(deg_i, deg_j)) for neighbours, the rest of each
// row on the diagonal, make W symmetric and doubly stochastic for any connected graph.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dmlsim {

struct GossipGraph {
  std::vector<std::vector<int>> neighbours;  // node i's neighbours, sorted, without i
  int nodes() const { return static_cast<int>(neighbours.size()); }
  int degree(int node) const { return static_cast<int>(neighbours[static_cast<std::size_t>(node)].size()); }
};

using Edge = std::pair<int, int>;

// The graph kinds a scenario names: "ring", "torus", "complete", "file" (the edges given).
const std::vector<std::string>& gossip_graph_kinds();

// The built-in graphs on `nodes` nodes. The torus is r × c with r the largest divisor of K not
// above √K (a prime K gives a 1 × K torus, i.e. the ring); node i sits at row i / c, column i mod c.
GossipGraph ring_graph(int nodes);
GossipGraph torus_graph(int nodes);
GossipGraph complete_graph(int nodes);
GossipGraph graph_from_edges(int nodes, const std::vector<Edge>& edges);  // duplicates merged
// `kind` of gossip_graph_kinds(); `edges` is used only by "file".
GossipGraph make_gossip_graph(const std::string& kind, int nodes, const std::vector<Edge>& edges);

// An edge-list file: one edge per line, "i j" (worker numbers, 0-based), blank lines and text after
// '#' ignored. Throws EdgeListError with the 1-based line of the first bad line.
struct EdgeListError : std::runtime_error {
  EdgeListError(int line_number, const std::string& message) : std::runtime_error(message), line(line_number) {}
  int line;
};
std::vector<Edge> parse_edge_list(const std::string& text, int nodes);

// The nodes not reachable from node 0 (empty: the graph is connected).
std::vector<int> unreachable_nodes(const GossipGraph& graph);

// Node i and its neighbours, in node order: the order of row i of W and of a node's exchange.
std::vector<int> mixing_order(const GossipGraph& graph, int node);

// Row i of W: (node, weight) in node order, i itself included.
struct MixingEntry {
  int node = 0;
  double weight = 0;
};
using MixingRow = std::vector<MixingEntry>;
MixingRow metropolis_row(const GossipGraph& graph, int node);
std::vector<MixingRow> metropolis_weights(const GossipGraph& graph);

}  // namespace dmlsim
