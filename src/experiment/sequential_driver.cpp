#include "experiment/sequential_driver.hpp"

namespace dmlsim {

namespace {

// No simulated time and no messages: the sequential driver's view for the run monitor.
class NoClock final : public RunProbe {
 public:
  double now() override { return 0; }
  void charge_evaluation(double) override {}
  Traffic traffic() override { return {}; }
};

}  // namespace

Vector run_sequential(const Experiment& e, const RoundObserver& observe) {
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
    for (int k = 0; k < workers; ++k) {
      const auto i = static_cast<std::size_t>(k);
      roles[i]->run_round(round, payload, trainers[i], uploads[i]);
    }
    server->aggregate(uploads);
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
