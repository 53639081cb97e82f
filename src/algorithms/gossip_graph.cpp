#include "algorithms/gossip_graph.hpp"

#include "util/quote.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <fmt/format.h>
#include <set>
#include <sstream>

namespace dmlsim {

const std::vector<std::string>& gossip_graph_kinds() {
  static const std::vector<std::string> kinds = {"ring", "torus", "complete", "file"};
  return kinds;
}

GossipGraph graph_from_edges(int nodes, const std::vector<Edge>& edges) {
  std::vector<std::set<int>> sets(static_cast<std::size_t>(nodes));
  for (const auto& [a, b] : edges) {
    if (a == b) continue;
    sets[static_cast<std::size_t>(a)].insert(b);
    sets[static_cast<std::size_t>(b)].insert(a);
  }
  GossipGraph graph;
  for (const auto& s : sets) graph.neighbours.emplace_back(s.begin(), s.end());
  return graph;
}

GossipGraph ring_graph(int nodes) {
  std::vector<Edge> edges;
  for (int i = 0; i < nodes; ++i) edges.emplace_back(i, (i + 1) % nodes);
  return graph_from_edges(nodes, edges);
}

GossipGraph torus_graph(int nodes) {
  int rows = 1;
  for (int r = 1; r * r <= nodes; ++r)
    if (nodes % r == 0) rows = r;
  const int cols = nodes / rows;
  std::vector<Edge> edges;
  for (int i = 0; i < nodes; ++i) {
    const int row = i / cols;
    const int col = i % cols;
    edges.emplace_back(i, row * cols + (col + 1) % cols);
    edges.emplace_back(i, ((row + 1) % rows) * cols + col);
  }
  return graph_from_edges(nodes, edges);
}

GossipGraph complete_graph(int nodes) {
  std::vector<Edge> edges;
  for (int i = 0; i < nodes; ++i)
    for (int j = i + 1; j < nodes; ++j) edges.emplace_back(i, j);
  return graph_from_edges(nodes, edges);
}

GossipGraph make_gossip_graph(const std::string& kind, int nodes, const std::vector<Edge>& edges) {
  if (kind == "ring") return ring_graph(nodes);
  if (kind == "torus") return torus_graph(nodes);
  if (kind == "complete") return complete_graph(nodes);
  if (kind == "file") return graph_from_edges(nodes, edges);
  throw std::invalid_argument(fmt::format("unknown graph {} (allowed: {})", quote_input(kind), fmt::join(gossip_graph_kinds(), ", ")));
}

std::vector<Edge> parse_edge_list(const std::string& text, int nodes) {
  std::vector<Edge> edges;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    std::vector<std::string> words;
    for (std::string word; fields >> word;) words.push_back(word);
    if (words.empty()) continue;
    if (words.size() != 2)
      throw EdgeListError(number, fmt::format("expected one edge 'i j' (two worker numbers), found {} fields", words.size()));
    int ends[2];
    for (int e = 0; e < 2; ++e) {
      const auto& word = words[static_cast<std::size_t>(e)];
      std::size_t used = 0;
      long value = -1;
      try {
        value = std::stol(word, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != word.size() || value < 0 || value >= nodes)
        throw EdgeListError(number, fmt::format("{} is not a worker: workers are numbered 0 to {}", quote_input(word), nodes - 1));
      ends[e] = static_cast<int>(value);
    }
    if (ends[0] == ends[1]) throw EdgeListError(number, fmt::format("edge {} {} joins a worker to itself", ends[0], ends[1]));
    edges.emplace_back(ends[0], ends[1]);
  }
  return edges;
}

std::vector<int> unreachable_nodes(const GossipGraph& graph) {
  std::vector<bool> seen(static_cast<std::size_t>(graph.nodes()), false);
  std::deque<int> queue{0};
  seen[0] = true;
  while (!queue.empty()) {
    const int node = queue.front();
    queue.pop_front();
    for (int next : graph.neighbours[static_cast<std::size_t>(node)])
      if (!seen[static_cast<std::size_t>(next)]) {
        seen[static_cast<std::size_t>(next)] = true;
        queue.push_back(next);
      }
  }
  std::vector<int> missing;
  for (int i = 0; i < graph.nodes(); ++i)
    if (!seen[static_cast<std::size_t>(i)]) missing.push_back(i);
  return missing;
}

std::vector<int> mixing_order(const GossipGraph& graph, int node) {
  auto order = graph.neighbours[static_cast<std::size_t>(node)];
  order.insert(std::upper_bound(order.begin(), order.end(), node), node);
  return order;
}

MixingRow metropolis_row(const GossipGraph& graph, int i) {
  MixingRow row;
  double self = 1.0;
  for (int j : graph.neighbours[static_cast<std::size_t>(i)]) {
    const double w = 1.0 / (1.0 + std::max(graph.degree(i), graph.degree(j)));
    row.push_back({j, w});
    self -= w;
  }
  row.push_back({i, self});
  std::sort(row.begin(), row.end(), [](const MixingEntry& a, const MixingEntry& b) { return a.node < b.node; });
  return row;
}

std::vector<MixingRow> metropolis_weights(const GossipGraph& graph) {
  std::vector<MixingRow> rows;
  for (int i = 0; i < graph.nodes(); ++i) rows.push_back(metropolis_row(graph, i));
  return rows;
}

}  // namespace dmlsim
