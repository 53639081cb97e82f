#include "experiment/run_monitor.hpp"

#include <cmath>
#include <fmt/format.h>

namespace dmlsim {

MonitorRules monitor_rules(const Scenario& s) {
  return {s.training.rounds,  s.training.eval_every, s.training.charge_eval,
          s.stop.target_accuracy, s.stop.max_time,     s.report.eval_every_time};
}

RunMonitor::RunMonitor(const Experiment& experiment, MonitorRules rules, RunRecord& record, bool evaluate)
    : experiment_(experiment), rules_(rules), record_(record), evaluate_(evaluate),
      next_evaluation_time_(rules.eval_every_time.value_or(0)) {}

bool RunMonitor::evaluation_due(int round, RunProbe& probe) {
  if (round == rules_.rounds) return true;
  if (!rules_.eval_every_time) return round % rules_.eval_every == 0;
  const double now = probe.now();
  if (now < next_evaluation_time_) return false;
  const double step = *rules_.eval_every_time;
  next_evaluation_time_ = (std::floor(now / step) + 1) * step;
  return true;
}

void RunMonitor::start(const Vector& w, RunProbe& probe) {
  record_evaluation(0, w, probe);
  record_.stop_reason = "rounds";
}

bool RunMonitor::after_round(int round, const Vector& w, RunProbe& probe) {
  return after_round(round, [&w]() -> const Vector& { return w; }, w.allFinite(), probe);
}

bool RunMonitor::after_round(int round, const std::function<const Vector&()>& model, bool finite, RunProbe& probe) {
  record_.rounds_done = round;
  if (!finite) {
    failure_ = fmt::format("the model diverged at round {}: the global parameters contain NaN or Inf "
                           "(try a smaller eta, or standardize=\"true\" in <data>)", round);
    return false;
  }
  const double due_before = next_evaluation_time_;
  if (evaluation_due(round, probe)) {
    // An actor whose host fails during a charged evaluation unwinds from record_evaluation with no
    // row recorded: the evaluation is then still due, for the member that takes the round over
    // (resilient_collective.cpp). Until the row is in, it stays advanced, so that no other actor
    // reporting meanwhile (gossip nodes) records the same evaluation.
    RestoreUnlessKept still_due(next_evaluation_time_, due_before);
    record_evaluation(round, model(), probe);
    still_due.keep();
    const double loss = record_.rows.back().test_loss;
    if (!std::isfinite(loss)) {
      failure_ = fmt::format("the model diverged at round {}: the test loss is {} (try a smaller eta, or "
                             "standardize=\"true\" in <data>)", round, loss);
      return false;
    }
    if (rules_.target_accuracy && record_.rows.back().test_accuracy >= *rules_.target_accuracy) {
      record_.stop_reason = "target-accuracy";
      return false;
    }
  }
  if (rules_.max_time && probe.now() >= *rules_.max_time) {
    if (record_.rows.back().round != round) record_evaluation(round, model(), probe);
    record_.stop_reason = "max-time";
    return false;
  }
  return round < rules_.rounds;
}

void RunMonitor::finish(const Vector& w, double now) {
  record_.final_model = w;
  record_.sim_time = now;
}

void RunMonitor::record_evaluation(int round, const Vector& w, RunProbe& probe) {
  if (rules_.charge_eval) probe.charge_evaluation(experiment_.evaluation_flops());
  RoundRow row;
  row.round = round;
  row.sim_time = probe.now();
  row.energy = probe.energy();
  const auto times = probe.worker_times();
  row.compute_time = times.compute;
  row.comm_time = times.comm;
  row.consensus_distance = probe.consensus_distance();
  const Traffic traffic = probe.traffic();
  row.bytes_sent = traffic.bytes;
  row.messages_sent = traffic.messages;
  row.bytes_intra_zone = traffic.intra_zone_bytes;
  row.bytes_inter_zone = traffic.inter_zone_bytes;
  if (evaluate_) {
    const auto test = experiment_.evaluate_test(w);
    row.test_accuracy = test.accuracy;
    row.test_loss = test.loss;
    row.train_loss = experiment_.train_loss(w);
  }
  record_.rows.push_back(row);
}

}  // namespace dmlsim
