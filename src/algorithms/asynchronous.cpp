#include "algorithms/asynchronous.hpp"

#include <algorithm>

namespace dmlsim {

AsyncProtocol::AsyncProtocol(ServerRole& role, int workers, int staleness_bound)
    : role_(role), bound_(staleness_bound), clock_(static_cast<std::size_t>(workers), 0),
      blocked_(static_cast<std::size_t>(workers), false), present_(static_cast<std::size_t>(workers), true), applied_(1) {}

namespace {

// The smallest clock among the present workers (`fallback` when none is).
int slowest_present(const std::vector<int>& clock, const std::vector<bool>& present, int fallback) {
  int slowest = -1;
  for (std::size_t k = 0; k < clock.size(); ++k)
    if (present[k] && (slowest < 0 || clock[k] < slowest)) slowest = clock[k];
  return slowest < 0 ? fallback : slowest;
}

}  // namespace

bool AsyncProtocol::within_bound(int worker) const {
  if (bound_ < 0) return true;
  const int own = clock_[static_cast<std::size_t>(worker)];
  return own - slowest_present(clock_, present_, own) <= bound_;
}

std::vector<int> AsyncProtocol::release() {
  std::vector<int> released;
  for (int k = 0; k < static_cast<int>(clock_.size()); ++k)
    if (blocked_[static_cast<std::size_t>(k)] && within_bound(k)) {
      blocked_[static_cast<std::size_t>(k)] = false;
      released.push_back(k);
    }
  return released;
}

std::vector<int> AsyncProtocol::leave(int worker) {
  const auto k = static_cast<std::size_t>(worker);
  present_[k] = false;
  blocked_[k] = false;
  return release();
}

void AsyncProtocol::rejoin(int worker) {
  const auto k = static_cast<std::size_t>(worker);
  clock_[k] = std::max(clock_[k], slowest_present(clock_, present_, clock_[k]));
  present_[k] = true;
  blocked_[k] = false;
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
  return release();
}

void GradientWorker::run_round(int round, const Vector& received, LocalTrainer& trainer, Upload& upload) {
  upload.samples = trainer.gradient(received, round, 0, upload.values);
}

}  // namespace dmlsim
