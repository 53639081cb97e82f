#include "algorithms/ssgd_backup.hpp"

#include "algorithms/registry.hpp"

#include <fmt/format.h>

namespace dmlsim {

const AlgorithmInfo& ssgd_algorithm();

SsgdParams batch_means_ssgd(const AlgorithmParams& params) {
  AlgorithmParams ssgd(ssgd_algorithm());
  ssgd.set("eta", params.real("eta"));
  return SsgdParams(ssgd);
}

const AlgorithmInfo& ssgd_backup_algorithm() {
  static const AlgorithmInfo info{
      "ssgd-backup",
      "synchronous SGD with backup workers: the server averages the first K - b gradients to arrive",
      {learning_rate_attribute(),
       integer_attribute("backup", 1, {0, 1 << 20}, "b: uploads dropped each round, the latest to arrive (b < K)")},
      [](const AlgorithmSetup& setup, const Vector& initial) {
        return std::make_unique<SsgdBackupServer>(batch_means_ssgd(setup.params), setup.params.integer("backup"),
                                                  initial);
      },
      [](const AlgorithmSetup& setup, int, const Vector&) {
        return std::make_unique<SsgdWorker>(batch_means_ssgd(setup.params));
      },
      [](const AlgorithmParams&, const RoundCost& cost) { return cost.gradient_flops; },
      {},
      {"parameter-server"},
      [](const AlgorithmParams& params, int workers) {
        const int backup = params.integer("backup");
        return backup < workers ? std::string()
                                : fmt::format("attribute 'backup' is {}, but it must be below the {} workers (the server "
                                              "aggregates K - backup uploads)", backup, workers);
      }};
  return info;
}

}  // namespace dmlsim
