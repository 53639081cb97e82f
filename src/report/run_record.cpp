#include "report/run_record.hpp"

#include <algorithm>
#include <cmath>

namespace dmlsim {

std::vector<double> ewma(const std::vector<double>& values, double alpha) {
  std::vector<double> smoothed(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    smoothed[i] = i == 0 ? values[0] : alpha * smoothed[i - 1] + (1.0 - alpha) * values[i];
  return smoothed;
}

std::vector<double> ewma_over_rounds(const std::vector<RoundRow>& rows, double alpha) {
  std::vector<double> smoothed(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i == 0) {
      smoothed[i] = rows[i].test_accuracy;
      continue;
    }
    // One step of weight alpha per round, however many rounds separate two evaluations.
    const double decay = std::pow(alpha, std::max(1, rows[i].round - rows[i - 1].round));
    smoothed[i] = decay * smoothed[i - 1] + (1.0 - decay) * rows[i].test_accuracy;
  }
  return smoothed;
}

std::vector<TargetHit> time_to_accuracy(const std::vector<RoundRow>& rows, const std::vector<double>& targets,
                                        std::optional<double> ewma_alpha) {
  std::vector<double> curve;
  for (const auto& row : rows) curve.push_back(row.test_accuracy);
  if (ewma_alpha) curve = ewma_over_rounds(rows, *ewma_alpha);
  std::vector<TargetHit> hits;
  for (double target : targets) {
    TargetHit hit{target, std::nullopt};
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (curve[i] >= target) {
        hit.first = rows[i];
        break;
      }
    hits.push_back(hit);
  }
  return hits;
}

}  // namespace dmlsim
