// Helpers shared by the tests: temporary directories, running the dmlsim binary, forking a child
// for an in-process simulation (SimGrid allows one engine per process), reading files.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace dmlsim::testutil {

// A fresh directory under the system temp dir, removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr, interleaved
};

// Runs `build/dmlsim ARGS` from the source directory (so scenario paths are the shipped ones).
CommandResult run_dmlsim(const std::string& args);

// Runs `body` in a forked child (dmlsim::run_in_child) and returns what it returned, or throws with
// what the child reported if it threw or crashed.
std::string in_child(const std::function<std::string()>& body);

void write_text(const std::filesystem::path& file, const std::string& text);
std::string read_text(const std::filesystem::path& file);
std::filesystem::path source_dir();

}  // namespace dmlsim::testutil
