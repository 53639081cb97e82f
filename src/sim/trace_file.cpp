#include "sim/trace_file.hpp"

#include "util/atomic_file.hpp"
#include "util/quote.hpp"

#include <fmt/format.h>
#include <stdexcept>
#include <unistd.h>

namespace dmlsim {

namespace {

constexpr const char* kFilenameItem = "tracing/filename";

// SimGrid's boolean configuration values that mean "on".
bool tracing_on(const ConfigList& config) {
  bool on = false;
  for (const auto& [key, value] : config)
    if (key == "tracing") on = value == "yes" || value == "on" || value == "true" || value == "1";
  return on;
}

}  // namespace

TraceFile::TraceFile(ConfigList& config) {
  if (!tracing_on(config)) return;
  name_ = "simgrid.trace";
  for (const auto& [key, value] : config)
    if (key == kFilenameItem) name_ = value;
  if (name_.empty() || name_.find('/') != std::string::npos || name_ == "." || name_ == "..")
    throw std::invalid_argument(fmt::format("SimGrid configuration {}: the trace goes into the run's output "
                                            "directory, so give a plain file name (e.g. run.trace)",
                                            quote_input(std::string(kFilenameItem) + ":" + name_)));
  for (const char* taken : {"rounds.csv", "summary.json", "partitions.csv", "weights.csv", "identity", "run.log", "error.txt"})
    if (name_ == taken)
      throw std::invalid_argument(fmt::format("SimGrid configuration {}: {} is one of the run's own files; "
                                              "give the trace another name",
                                              quote_input(std::string(kFilenameItem) + ":" + name_), taken));
  temporary_ = std::filesystem::temp_directory_path() / fmt::format("dmlsim-{}.trace", ::getpid());
  config.emplace_back(kFilenameItem, temporary_.string());
}

TraceFile::~TraceFile() {
  std::error_code ec;
  if (enabled()) std::filesystem::remove(temporary_, ec);
}

std::optional<std::string> TraceFile::contents() const {
  if (!enabled()) return std::nullopt;
  return read_file(temporary_);
}

}  // namespace dmlsim
