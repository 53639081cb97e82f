#include "report/run_record.hpp"

namespace dmlsim {

std::vector<double> ewma(const std::vector<double>& values, double alpha) {
  std::vector<double> smoothed(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    smoothed[i] = i == 0 ? values[0] : alpha * smoothed[i - 1] + (1.0 - alpha) * values[i];
  return smoothed;
}

std::vector<TargetHit> time_to_accuracy(const std::vector<RoundRow>& rows, const std::vector<double>& targets,
                                        std::optional<double> ewma_alpha) {
  std::vector<double> curve;
  for (const auto& row : rows) curve.push_back(row.test_accuracy);
  if (ewma_alpha) curve = ewma(curve, *ewma_alpha);
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
