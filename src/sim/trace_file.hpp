// SimGrid's Pajé trace (`--cfg tracing:yes`) as one of a run's outputs. SimGrid writes the trace
// while it simulates, by default into the current directory; here it writes a private temporary
// file instead, whose content joins the run's other files when they are moved into the output
// directory together (so a failed run leaves no trace file, and a new run no stale one).
#pragma once

#include "sim/network.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace dmlsim {

class TraceFile {
 public:
  // When `config` turns tracing on: points SimGrid's `tracing/filename` at a temporary file and
  // remembers the name the trace takes in the output directory (`tracing/filename` if the user gave
  // one, which must then be a plain file name; otherwise simgrid.trace). Throws
  // std::invalid_argument on a `tracing/filename` that names a directory.
  explicit TraceFile(ConfigList& config);
  ~TraceFile();
  TraceFile(const TraceFile&) = delete;
  TraceFile& operator=(const TraceFile&) = delete;

  bool enabled() const { return !temporary_.empty(); }
  const std::string& name() const { return name_; }
  // The finished trace (SimGrid closes it when the simulation ends); nothing when tracing is off.
  std::optional<std::string> contents() const;

 private:
  std::string name_;
  std::filesystem::path temporary_;
};

}  // namespace dmlsim
