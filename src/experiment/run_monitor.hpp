// The run monitor (Flower's round loop, outside the aggregation maths): evaluation cadence, stop
// rules (rounds, target accuracy, max-time), divergence checks and the per-round record. The
// simulator's topologies and the sequential driver call it after every aggregation, so every way
// of running an experiment evaluates at the same rounds and stops for the same reasons.
#pragma once

#include "experiment/experiment.hpp"
#include "report/run_record.hpp"

#include <functional>
#include <optional>
#include <string>

namespace dmlsim {

struct MonitorRules {
  int rounds = 1;
  int eval_every = 1;
  bool charge_eval = false;  // evaluation costs FLOPs on the host that runs it
  std::optional<double> target_accuracy;
  std::optional<double> max_time;  // simulated seconds
  std::optional<double> eval_every_time;  // simulated seconds; replaces eval_every when set
};

MonitorRules monitor_rules(const Scenario& scenario);

// What the monitor reads from the run when it records a row: the simulator answers from SimGrid,
// the sequential driver with a clock that stays at 0 and no traffic.
class RunProbe {
 public:
  virtual ~RunProbe() = default;
  virtual double now() = 0;
  virtual void charge_evaluation(double flops) = 0;  // called before the row's time is read
  virtual Traffic traffic() = 0;
  virtual double energy() { return 0; }  // joules so far (with <energy>)
  // Mean over workers of the compute and communication time booked so far (see RoundRow).
  struct WorkerTimes {
    double compute = 0, comm = 0;
  };
  virtual WorkerTimes worker_times() { return {}; }
  // Decentralized runs: how far the workers' models are from the evaluated average.
  virtual std::optional<double> consensus_distance() { return std::nullopt; }
};

// No simulated time and no messages: the sequential driver's view for the run monitor.
class NoClock final : public RunProbe {
 public:
  double now() override { return 0; }
  void charge_evaluation(double) override {}
  Traffic traffic() override { return {}; }
};

class RunMonitor {
 public:
  // `evaluate` false: rows carry time and traffic only (the benchmark's bare run).
  RunMonitor(const Experiment& experiment, MonitorRules rules, RunRecord& record, bool evaluate = true);

  // Records the initial model (round 0).
  void start(const Vector& w, RunProbe& probe);
  // After round `round` was aggregated into `w`. Returns false when the run ends here: the last
  // round, a stop rule, or a divergence (then failure() says why).
  bool after_round(int round, const Vector& w, RunProbe& probe);
  // As above, for a model that is costly to form (a gossip run's average of K models): `model` is
  // called only when a row is recorded, and `finite` stands for the divergence check of `w`.
  bool after_round(int round, const std::function<const Vector&()>& model, bool finite, RunProbe& probe);
  // Keeps the final model and the end time.
  void finish(const Vector& w, double now);

  const std::string& failure() const { return failure_; }

 private:
  void record_evaluation(int round, const Vector& w, RunProbe& probe);
  bool evaluation_due(int round, RunProbe& probe);

  // Puts `value` back to `before` when destroyed, unless kept.
  class RestoreUnlessKept {
   public:
    RestoreUnlessKept(double& value, double before) : value_(value), before_(before) {}
    RestoreUnlessKept(const RestoreUnlessKept&) = delete;
    RestoreUnlessKept& operator=(const RestoreUnlessKept&) = delete;
    ~RestoreUnlessKept() {
      if (!kept_) value_ = before_;
    }
    void keep() { kept_ = true; }

   private:
    double& value_;
    double before_;
    bool kept_ = false;
  };

  const Experiment& experiment_;
  MonitorRules rules_;
  RunRecord& record_;
  bool evaluate_;
  std::string failure_;
  double next_evaluation_time_ = 0;  // with eval_every_time
};

}  // namespace dmlsim
