#include "algorithms/asynchronous.hpp"

#include <algorithm>

namespace dmlsim {

AsyncProtocol::AsyncProtocol(ServerRole& role, int workers, int staleness_bound)
    : role_(role), bound_(staleness_bound), clock_(static_cast<std::size_t>(workers), 0),
      blocked_(static_cast<std::size_t>(workers), false), applied_(1) {}

bool AsyncProtocol::within_bound(int worker) const {
  if (bound_ < 0) return true;
  const int slowest = *std::min_element(clock_.begin(), clock_.end());
  return clock_[static_cast<std::size_t>(worker)] - slowest <= bound_;
}

std::vector<int> AsyncProtocol::push(const Upload& upload, std::uint64_t pulled) {
  const std::uint64_t staleness = version_ - pulled;
  if (histogram_.size() <= staleness) histogram_.resize(staleness + 1, 0);
  ++histogram_[staleness];
  applied_.front() = upload;
  role_.aggregate(applied_);
  ++version_;
  ++clock_[static_cast<std::size_t>(upload.worker)];
  blocked_[static_cast<std::size_t>(upload.worker)] = true;
  std::vector<int> released;
  for (int k = 0; k < static_cast<int>(clock_.size()); ++k)
    if (blocked_[static_cast<std::size_t>(k)] && within_bound(k)) {
      blocked_[static_cast<std::size_t>(k)] = false;
      released.push_back(k);
    }
  return released;
}

void GradientWorker::run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) {
  upload.samples = trainer.gradient(received, round, 0, upload.values);
}

}  // namespace dmlsim
