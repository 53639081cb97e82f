#include "sim/bare_roles.hpp"

namespace dmlsim {

namespace {

class BareServer final : public ServerRole {
 public:
  explicit BareServer(const Vector& initial) : w_(initial) {}
  const Vector& broadcast() override { return w_; }
  void aggregate(const std::vector<Upload>&) override {}
  const Vector& model() const override { return w_; }

 private:
  Vector w_;
};

class BareWorker final : public WorkerRole {
 public:
  explicit BareWorker(double round_flops) : round_flops_(round_flops) {}
  void run_round(int, const Vector&, LocalTrainer& trainer, Upload&) override { trainer.charge_flops(round_flops_); }

 private:
  double round_flops_;
};

}  // namespace

std::unique_ptr<ServerRole> make_bare_server(const Vector& initial) { return std::make_unique<BareServer>(initial); }

std::unique_ptr<WorkerRole> make_bare_worker(double round_flops) { return std::make_unique<BareWorker>(round_flops); }

}  // namespace dmlsim
