#include "experiment/sequential_driver.hpp"

#include "algorithms/asynchronous.hpp"
#include "algorithms/registry.hpp"

#include <deque>

namespace dmlsim {

namespace {

// Without a clock every upload arrives at once: the needed ones are the lowest worker ids.
std::vector<Upload> first_uploads(const std::vector<Upload>& uploads, const std::vector<int>& chosen, int needed) {
  std::vector<Arrival> arrived;
  for (int k : chosen) arrived.push_back({0.0, k});
  std::vector<Upload> kept;
  for (int k : first_arrivals(arrived, needed)) kept.push_back(uploads[static_cast<std::size_t>(k)]);
  return kept;
}

// An asynchronous algorithm with workers of equal speed and free messages: workers compute in the
// order they pulled (worker order among simultaneous pulls), so ASGD goes round-robin with every
// update K - 1 updates stale, and SSP with s = 0 turns into rounds. Each observed step is one
// server update.
Vector run_asynchronous(const Experiment& e, const RoundObserver& observe) {
  const int workers = e.algorithm.workers;
  auto server = make_server(e.algorithm, e.initial);
  const auto& params = e.algorithm.params;
  AsyncProtocol protocol(*server, workers, params.algorithm().staleness_bound(params));
  struct Pull {
    int worker;
    std::uint64_t version;
    Vector model;
  };
  std::deque<Pull> ready;
  std::vector<std::unique_ptr<WorkerRole>> roles;
  std::vector<LocalTrainer> trainers;
  std::vector<int> pushes(static_cast<std::size_t>(workers), 0);
  for (int k = 0; k < workers; ++k) {
    roles.push_back(make_worker(e.algorithm, k, e.initial));
    trainers.push_back(e.make_trainer(k));
    ready.push_back({k, 0, server->model()});
  }
  Upload upload;
  for (int update = 1; update <= e.rounds; ++update) {
    const Pull pull = std::move(ready.front());
    ready.pop_front();
    const auto k = static_cast<std::size_t>(pull.worker);
    upload.worker = pull.worker;
    roles[k]->run_round(++pushes[k], pull.model, trainers[k], upload);
    for (int released : protocol.push(upload, pull.version)) ready.push_back({released, protocol.version(), server->model()});
    if (observe && !observe(update, server->model())) break;
  }
  return server->model();
}

// Pairwise gossip with workers of equal speed: node steps round-robin, each averaging with its
// drawn neighbour before its own gradient step. Each observed update is the average model.
Vector run_pairwise(const Experiment& e, std::vector<std::unique_ptr<GossipNode>>& nodes,
                    std::vector<LocalTrainer>& trainers, const RoundObserver& observe) {
  const int workers = static_cast<int>(nodes.size());
  std::vector<int> steps(nodes.size(), 0);
  std::vector<const Vector*> models(nodes.size());
  Vector average = e.initial;
  for (int update = 1; update <= e.rounds; ++update) {
    const auto k = static_cast<std::size_t>((update - 1) % workers);
    auto& node = static_cast<PairwiseNode&>(*nodes[k]);
    const int step = ++steps[k];
    node.before_exchange(step, trainers[k]);
    const int partner = node.partner(step);
    if (partner < 0) {
      node.after_exchange(step, {}, trainers[k]);
    } else {
      const auto offered = node.offer();
      const Vector old = static_cast<PairwiseNode&>(*nodes[static_cast<std::size_t>(partner)]).answer(*offered);
      node.after_exchange(step, {&old}, trainers[k]);
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) models[i] = &nodes[i]->model();
    average = consensus(models).average;
    if (observe && !observe(update, average)) break;
  }
  return average;
}

// A decentralized algorithm in lockstep: every node's step t sees its neighbours' models of the
// end of step t - 1 (what the messages of step t carry), so this is D-PSGD's synchronous schedule.
// Each observed step is the average model.
Vector run_decentralized(const Experiment& e, const RoundObserver& observe) {
  const int workers = e.algorithm.workers;
  const auto& algorithm = e.algorithm.params.algorithm();
  auto average = make_server(e.algorithm, e.initial);
  std::vector<std::unique_ptr<GossipNode>> nodes;
  std::vector<LocalTrainer> trainers;
  std::vector<Upload> uploads(static_cast<std::size_t>(workers));
  for (int k = 0; k < workers; ++k) {
    nodes.push_back(algorithm.make_node(e.algorithm, k, e.initial));
    trainers.push_back(e.make_trainer(k));
    uploads[static_cast<std::size_t>(k)].worker = k;
  }
  if (nodes.front()->pairwise()) return run_pairwise(e, nodes, trainers, observe);
  std::vector<const Vector*> models;
  for (int step = 1; step <= e.rounds; ++step) {
    for (int k = 0; k < workers; ++k) {
      uploads[static_cast<std::size_t>(k)].values = nodes[static_cast<std::size_t>(k)]->model();
      nodes[static_cast<std::size_t>(k)]->before_exchange(step, trainers[static_cast<std::size_t>(k)]);
    }
    for (int k = 0; k < workers; ++k) {
      models.clear();
      for (int j : mixing_order(*e.algorithm.graph, k)) models.push_back(&uploads[static_cast<std::size_t>(j)].values);
      nodes[static_cast<std::size_t>(k)]->after_exchange(step, models, trainers[static_cast<std::size_t>(k)]);
    }
    for (int k = 0; k < workers; ++k) uploads[static_cast<std::size_t>(k)].values = nodes[static_cast<std::size_t>(k)]->model();
    average->aggregate(uploads);
    if (observe && !observe(step, average->model())) break;
  }
  return average->model();
}

}  // namespace

Vector run_sequential(const Experiment& e, const RoundObserver& observe) {
  if (e.algorithm.params.algorithm().asynchronous()) return run_asynchronous(e, observe);
  if (e.algorithm.params.algorithm().decentralized()) return run_decentralized(e, observe);
  const int workers = e.algorithm.workers;
  auto server = make_server(e.algorithm, e.initial);
  std::vector<std::unique_ptr<WorkerRole>> roles;
  std::vector<LocalTrainer> trainers;
  std::vector<Upload> uploads(static_cast<std::size_t>(workers));
  for (int k = 0; k < workers; ++k) {
    roles.push_back(make_worker(e.algorithm, k, e.initial));
    trainers.push_back(e.make_trainer(k));
    uploads[static_cast<std::size_t>(k)].worker = k;
  }
  for (int round = 1; round <= e.rounds; ++round) {
    const Vector payload = server->broadcast();
    const auto chosen = server->participants(round, workers);
    for (int k : chosen) {
      const auto i = static_cast<std::size_t>(k);
      roles[i]->run_round(round, payload, trainers[i], uploads[i]);
    }
    if (static_cast<int>(chosen.size()) == workers && server->uploads_needed(workers) == workers)
      server->aggregate(uploads);
    else
      server->aggregate(first_uploads(uploads, chosen, server->uploads_needed(static_cast<int>(chosen.size()))));
    if (observe && !observe(round, server->model())) break;
  }
  return server->model();
}

RunRecord run_sequential(const Experiment& e, const MonitorRules& rules, std::string& failure) {
  RunRecord record;
  RunMonitor monitor(e, rules, record);
  NoClock clock;
  monitor.start(e.initial, clock);
  const Vector w = run_sequential(e, [&](int round, const Vector& model) { return monitor.after_round(round, model, clock); });
  monitor.finish(w, 0);
  failure = monitor.failure();
  return record;
}

}  // namespace dmlsim
