#include "sim/topology/collective.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Engine.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

class CollectiveWorker {
 public:
  CollectiveWorker(SimContext& context, CollectiveTopology& topology, int worker)
      : ctx_(context), topology_(topology), worker_(worker) {}

  void operator()() {
    Peer peer(ctx_, worker_);
    auto trainer = ctx_.experiment->make_trainer(worker_);
    auto role = ctx_.make_worker_role(worker_);
    auto& upload = ctx_.uploads[static_cast<std::size_t>(worker_)];

    topology_.close_round(peer, 0);  // the monitor records the initial model
    for (int round = 1; !ctx_.finished; ++round) {
      compute_round(*role, round, ctx_.server->broadcast(), trainer, upload, peer.ledger());
      topology_.exchange(peer, round);
      topology_.close_round(peer, round);
    }
  }

 private:
  SimContext& ctx_;
  CollectiveTopology& topology_;
  int worker_;
};

}  // namespace

void require_routes(const Placed& placed, const std::vector<WorkerLink>& links) {
  for (const auto& link : links)
    require_route(placed.workers[static_cast<std::size_t>(link.a)], placed.workers[static_cast<std::size_t>(link.b)], link.who);
}

void CollectiveTopology::check_routes(const Placed& placed, const AlgorithmSetup& /*setup*/) {
  prepare(placed.worker_zones);
  require_routes(placed, links());
}

void CollectiveTopology::create_actors(SimContext& context, const Placed& placed) {
  workers_ = static_cast<int>(placed.workers.size());
  barrier_ = sg4::Barrier::create(static_cast<unsigned>(workers_));
  prepare(context.worker_zone);
  for (std::size_t k = 0; k < placed.workers.size(); ++k)
    sg4::Actor::create(fmt::format("worker-{}", k), placed.workers[k], CollectiveWorker(context, *this, static_cast<int>(k)));
}

std::vector<WorkerLink> ring_links(const std::vector<int>& ring, const std::string& label) {
  std::vector<WorkerLink> links;
  if (ring.size() < 2) return links;
  for (std::size_t i = 0; i < ring.size(); ++i) {
    const int a = ring[i], b = ring[(i + 1) % ring.size()];
    links.push_back({a, b, fmt::format("{} {} and {}", label, a, b)});
  }
  return links;
}

std::vector<WorkerLink> tree_links(const std::vector<TreeNode>& tree, const std::vector<int>& ids, const std::string& label) {
  std::vector<WorkerLink> links;
  for (std::size_t i = 0; i < tree.size(); ++i)
    for (const int child : tree[i].children) links.push_back({ids[i], child, fmt::format("{} {} and child {}", label, ids[i], child)});
  return links;
}

bool aggregate_and_monitor(SimContext& ctx, int round) {
  SimProbe probe(ctx);
  bool go_on = true;
  if (round == 0) {
    ctx.monitor->start(ctx.server->model(), probe);
  } else {
    ctx.server->aggregate(ctx.uploads);
    go_on = ctx.monitor->after_round(round, ctx.server->model(), probe);
  }
  if (!go_on) {
    ctx.monitor->finish(ctx.server->model(), sg4::Engine::get_clock());
    ctx.finished = true;
  }
  return go_on;
}

void CollectiveTopology::close_round(Peer& peer, int round) {
  if (++arrived_ == workers_) {
    arrived_ = 0;
    aggregate_and_monitor(peer.context(), round);
    peer.ledger().computed();  // an evaluation charged to this host, if any
  }
  barrier_->wait();
  peer.ledger().waited();
}

bool ring_allreduce(Channel& channel, const std::vector<int>& ring, int position, int tag_base) {
  const int n = static_cast<int>(ring.size());
  const auto& sizes = channel.sizes();
  const int next = ring[static_cast<std::size_t>((position + 1) % n)];
  for (int step = 0; step < 2 * (n - 1); ++step) {
    const int c = ring_step_chunk(position, step, n);
    auto send = channel.send(next, tag_base + step, sizes.of(chunk_parameters(sizes.parameters, n, c)));
    const bool received = channel.receive(tag_base + step);
    if (send) channel.finish(send);
    if (!received) return false;
  }
  return true;
}

int ring_step_chunk(int position, int step, int n) {
  const int chunk = step < n - 1 ? position - step : position + 1 - (step - (n - 1));
  return ((chunk % n) + n) % n;
}

bool tree_reduce(Channel& channel, const TreeNode& node, int tag) {
  for (std::size_t i = 0; i < node.children.size(); ++i)
    if (!channel.receive(tag)) return false;
  if (node.parent >= 0)
    if (auto send = channel.send(node.parent, tag, channel.sizes().whole())) channel.finish(send);
  return true;
}

bool tree_broadcast(Channel& channel, const TreeNode& node, int tag) {
  if (node.parent >= 0 && !channel.receive(tag)) return false;
  std::vector<sg4::CommPtr> sends;
  for (int child : node.children)
    if (auto send = channel.send(child, tag, channel.sizes().whole())) sends.push_back(std::move(send));
  if (!sends.empty()) channel.finish(sends);
  return true;
}

}  // namespace dmlsim
