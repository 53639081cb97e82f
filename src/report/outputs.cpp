#include "report/outputs.hpp"

#include "util/atomic_file.hpp"

#include <fmt/format.h>
#include <variant>

namespace dmlsim {

namespace {

// Files that show a directory holds a run's results (the sweep adds run.log and error.txt): only
// such a directory is replaced by a new run's.
const std::vector<std::string> kResultMarkers = {"summary.json", "rounds.csv", "run.log", "error.txt"};

using Json = nlohmann::ordered_json;

Json target_json(const std::vector<TargetHit>& hits) {
  Json list = Json::array();
  for (const auto& hit : hits) {
    Json entry = {{"target", hit.target}};
    if (hit.first) {
      entry["time"] = hit.first->sim_time;
      entry["round"] = hit.first->round;
      entry["bytes"] = hit.first->bytes_sent;
      entry["wan_bytes"] = hit.first->bytes_inter_zone;
    } else {
      entry["time"] = nullptr;
      entry["round"] = nullptr;
      entry["bytes"] = nullptr;
      entry["wan_bytes"] = nullptr;
    }
    list.push_back(entry);
  }
  return list;
}

std::string batch_rule_name(BatchRule rule) {
  switch (rule) {
    case BatchRule::Bernoulli: return "bernoulli";
    case BatchRule::Fixed: return "fixed";
    case BatchRule::Full: return "full";
  }
  return "?";
}

Json partition_name(const PartitionSpec& p) {
  switch (p.scheme) {
    case PartitionScheme::Contiguous: return "contiguous";
    case PartitionScheme::Shuffled: return "shuffled";
    case PartitionScheme::Shards: return fmt::format("shards ({} per worker)", p.shards_per_worker);
    case PartitionScheme::Dirichlet: return fmt::format("dirichlet (alpha {})", p.dirichlet_alpha);
  }
  return "?";
}

std::string init_name(InitRule rule) {
  switch (rule) {
    case InitRule::Zeros: return "zeros";
    case InitRule::Constant: return "constant";
    case InitRule::Uniform: return "uniform";
    case InitRule::Glorot: return "glorot";
  }
  return "?";
}

// Compute utilisation: the share of the run's simulated time spent computing.
Json utilisation(double compute_time, double sim_time) {
  return sim_time > 0 ? Json(compute_time / sim_time) : Json(nullptr);
}

// `down`: the run had <failures>, so the worker's down time is a fourth part of its time.
Json worker_json(const WorkerStats& w, double sim_time, bool down) {
  const double busy = w.compute_time;
  Json j = {{"worker", w.worker},
            {"host", w.host},
            {"compute_time", w.compute_time},
            {"comm_time", w.comm_time},
            {"wait_time", w.wait_time}};
  if (down) j["down_time"] = w.down_time;
  j["comm_compute_ratio"] = busy > 0 ? Json(w.comm_time / busy) : Json(nullptr);
  j["utilisation"] = utilisation(w.compute_time, sim_time);
  j["flops"] = w.flops;
  j["samples"] = w.samples;
  return j;
}

}  // namespace

std::string rounds_csv(const std::vector<RoundRow>& rows, bool energy, bool participants) {
  std::string out =
      "round,sim_time,test_accuracy,test_loss,train_loss,bytes_sent,messages_sent,bytes_intra_zone,bytes_inter_zone,"
      "mean_compute_time,mean_comm_time";
  const bool consensus = !rows.empty() && rows.front().consensus_distance.has_value();
  out += energy ? ",energy_joules" : "";
  out += participants ? ",participants" : "";
  out += consensus ? ",consensus_distance\n" : "\n";
  for (const auto& r : rows)
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{}{}{}{}\n", r.round, r.sim_time, r.test_accuracy, r.test_loss,
                       r.train_loss, r.bytes_sent, r.messages_sent, r.bytes_intra_zone, r.bytes_inter_zone, r.compute_time,
                       r.comm_time, energy ? fmt::format(",{}", r.energy) : "",
                       participants ? fmt::format(",{}", r.participants) : "",
                       consensus ? fmt::format(",{}", r.consensus_distance.value_or(0.0)) : "");
  return out;
}

// Asynchronous runs: how stale the applied updates were (server updates between an update's pull
// and its application).
Json staleness_json(const std::vector<std::uint64_t>& histogram) {
  std::uint64_t updates = 0;
  double sum = 0;
  std::size_t max = 0;
  for (std::size_t i = 0; i < histogram.size(); ++i) {
    updates += histogram[i];
    sum += static_cast<double>(i) * static_cast<double>(histogram[i]);
    if (histogram[i] > 0) max = i;
  }
  return {{"updates", updates},
          {"mean", updates > 0 ? sum / static_cast<double>(updates) : 0.0},
          {"max", max},
          {"histogram", histogram}};
}

Json summary_json(const Scenario& s, const RunContext& c, const RunRecord& record) {
  Json algorithm = Json::object();
  for (const auto& [key, value] : describe_algorithm(s.algorithm))
    std::visit([&algorithm, key = key](const auto& typed) { algorithm[key] = typed; }, value);

  Json config = Json::object();
  for (const auto& [key, value] : c.sim_config) config[key] = value;

  Json links = Json::array();
  for (const auto& link : c.applied_link_overrides) links.push_back(link);

  const RoundRow last = record.rows.empty() ? RoundRow{} : record.rows.back();
  double compute = 0, comm = 0, wait = 0, down = 0;
  const bool failures = !c.failures.is_null();
  Json workers = Json::array();
  for (const auto& w : record.workers) {
    workers.push_back(worker_json(w, record.sim_time, failures));
    compute += w.compute_time;
    comm += w.comm_time;
    wait += w.wait_time;
    down += w.down_time;
  }

  Json j;
  j["dmlsim_version"] = "0.1.0";
  j["scenario"] = s.file.string();
  j["scenario_name"] = s.name;
  j["seed"] = s.seed;
  j["platform"] = {{"file", s.platform.file.string()}, {"link_overrides", links}};
  j["network"] = {{"model", s.network.model}, {"description", c.network_description}, {"config", config}};
  // The profile, unless the command line replaced its model.
  if (s.network.profile && config.value("network/model", std::string()) == s.network.profile->model)
    j["network"]["profile"] = {{"name", s.network.profile->name},
                               {"file", s.network.profile->file.string()},
                               {"factor_rows", s.network.profile->factors.rows.size()}};
  j["data"] = {{"source", s.data.file.empty() ? s.data.train_file.string() + " + " + s.data.test_file.string()
                                               : s.data.file.string()},
               {"split", s.data.file.empty() ? "files" : fmt::format("random, test-fraction {}", s.data.test_fraction)},
               {"label", s.data.label},
               {"standardize", s.data.standardize}};
  j["model"] = {{"type", s.model.type},
                {"description", c.model_description},
                {"parameters", c.parameters},
                {"init", init_name(s.model.init.rule)},
                {"init_value", s.model.init.value},
                {"profile", c.profiled ? Json({{"simulated_parameters", c.simulated_parameters},
                                               {"forward_flops_per_sample", c.prediction_flops_per_sample},
                                               {"note", "message size and compute time come from this profile; "
                                                        "accuracy from the real model"}})
                                       : Json(nullptr)},
                {"gradient_flops_per_sample", c.gradient_flops_per_sample},
                {"prediction_flops_per_sample", c.prediction_flops_per_sample}};
  j["workers"] = {{"count", s.workers.count},
                  {"partition", partition_name(s.workers.partition)},
                  {"hosts", c.worker_hosts}};
  j["server"] = {{"host", c.server_host.empty() ? Json(nullptr) : Json(c.server_host)}};
  j["topology"] = {{"kind", s.topology.kind}};
  if (s.topology.kind == "tree") {
    j["topology"]["shape"] = s.topology.binomial ? "binomial" : "k-ary";
    if (!s.topology.binomial) j["topology"]["arity"] = s.topology.arity;
  }
  if (s.topology.kind == "hierarchical") j["topology"]["across"] = s.topology.across_ring ? "ring" : "star";
  if (s.topology.kind == "gossip") {
    j["topology"]["graph"] = s.topology.graph;
    if (s.topology.graph == "file") j["topology"]["file"] = s.topology.graph_file.string();
  }
  if (!s.workers.slowdown.factors.empty()) j["workers"]["slowdown_factors"] = s.workers.slowdown.factors;
  if (s.workers.slowdown.lognormal_sigma > 0) j["workers"]["slowdown_lognormal_sigma"] = s.workers.slowdown.lognormal_sigma;
  j["algorithm"] = algorithm;
  j["batch"] = {{"rule", batch_rule_name(s.batch.rule)},
                {"fraction", s.batch.fraction},
                {"size", s.batch.size},
                {"resample", s.batch.same_batch_within_round ? "round" : "step"}};
  j["training"] = {{"rounds", s.training.rounds},
                   {"bytes_per_param", s.training.bytes_per_param},
                   {"header_bytes", s.training.header_bytes},
                   {"message_bytes", c.message_bytes},
                   {"eval_every", s.training.eval_every},
                   {"charge_eval", s.training.charge_eval}};
  if (s.compression.present)
    j["compression"] = {{"format", format_name(s.compression.spec.format)},
                        {"sparsify", sparsifier_name(s.compression.spec.sparsify)},
                        {"k", s.compression.spec.sparsify == Sparsifier::None ? Json(nullptr) : Json(s.compression.spec.k)}};
  j["stop"] = {{"target_accuracy", s.stop.target_accuracy ? Json(*s.stop.target_accuracy) : Json(nullptr)},
               {"max_time", s.stop.max_time ? Json(*s.stop.max_time) : Json(nullptr)}};
  j["result"] = {{"stop_reason", record.stop_reason},
                 {"rounds", record.rounds_done},
                 {"sim_time", record.sim_time},
                 {"final_accuracy", last.test_accuracy},
                 {"final_test_loss", last.test_loss},
                 {"final_train_loss", last.train_loss},
                 {"bytes_sent", last.bytes_sent},
                 {"messages_sent", last.messages_sent},
                 {"bytes_intra_zone", last.bytes_intra_zone},
                 {"bytes_inter_zone", last.bytes_inter_zone},
                 {"wall_time", c.wall_time}};
  if (s.report.eval_every_time) j["training"]["eval_every_time"] = *s.report.eval_every_time;
  if (!record.staleness_histogram.empty()) j["staleness"] = staleness_json(record.staleness_histogram);
  if (!record.rows.empty() && record.rows.back().consensus_distance)
    j["result"]["final_consensus_distance"] = record.rows.back().consensus_distance.value_or(0.0);
  j["time_to_accuracy"] = {{"curve", "raw"}, {"targets", target_json(time_to_accuracy(record.rows, s.report.targets))}};
  j["time_to_accuracy_ewma"] = {
      {"curve", "ewma"},
      {"alpha", s.report.ewma_alpha},
      {"targets", target_json(time_to_accuracy(record.rows, s.report.targets, s.report.ewma_alpha))}};
  const double n = record.workers.empty() ? 1.0 : static_cast<double>(record.workers.size());
  j["time_breakdown"] = {{"mean_compute_time", compute / n},
                         {"mean_comm_time", comm / n},
                         {"mean_wait_time", wait / n},
                         {"comm_compute_ratio", compute > 0 ? Json(comm / compute) : Json(nullptr)},
                         {"utilisation", utilisation(compute / n, record.sim_time)},
                         {"workers", workers}};
  if (failures) j["time_breakdown"]["mean_down_time"] = down / n;
  if (!c.energy.is_null()) j["energy"] = c.energy;
  if (!c.failures.is_null()) j["failures"] = c.failures;
  return j;
}

std::string weights_csv(const Vector& w, const std::vector<std::string>& names) {
  std::string out = "parameter,value\n";
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    const auto index = static_cast<std::size_t>(i);
    out += fmt::format("{},{}\n", index < names.size() ? names[index] : fmt::format("w{}", i), w(i));
  }
  return out;
}

void check_output_directory(const Scenario& s) {
  if (!replaceable_directory(s.output_dir, kResultMarkers))
    throw ScenarioError(s.file.string(), 0,
                        fmt::format("output directory {} exists and holds no dmlsim results ({}): a run replaces its "
                                    "output directory whole, so choose another one",
                                    s.output_dir.string(), fmt::join(kResultMarkers, ", ")));
}

void write_outputs(const Scenario& s, const RunContext& c, const RunRecord& record,
                   const std::vector<std::string>& feature_names, bool save_weights, const NamedContents& extra) {
  // Everything is formatted before anything is written; a name that is not UTF-8 (a file path) is
  // written with U+FFFD rather than failing after the run.
  NamedContents files = {{"rounds.csv", rounds_csv(record.rows, !c.energy.is_null(), !c.failures.is_null())}, {"partitions.csv", c.class_histogram_csv}};
  if (save_weights) files.emplace_back("weights.csv", weights_csv(record.final_model, feature_names));
  files.emplace_back("summary.json",
                     summary_json(s, c, record).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  files.insert(files.end(), extra.begin(), extra.end());
  write_directory_atomically(s.output_dir, files, kResultMarkers);
}

}  // namespace dmlsim
