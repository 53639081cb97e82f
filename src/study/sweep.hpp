// Running a study: each pending run (one without runs/<id>/summary.json, or whose scenario or
// files changed since it ran: see run_identity) is a separate
// `dmlsim run` process, N at a time; or, with --list, one self-contained shell command per
// pending run for GNU parallel, Slurm job arrays and the like.
#pragma once

#include "study/study.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace dmlsim::study {

struct SweepOptions {
  std::string study;       // study XML
  std::string out;         // overrides the study's output directory
  int jobs = 0;            // 0: hardware concurrency
  bool list = false;       // print commands for the pending runs instead of running them
  std::string binary;      // the dmlsim executable (absolute); empty: /proc/self/exe
};

// POSIX shell single-quoting.
std::string shell_quote(const std::string& text);

// The shell command that runs one run into `results_dir`/runs/<id> (run.log; error.txt on failure).
std::string run_command_line(const std::string& binary, const Run& run, const std::filesystem::path& results_dir);

// Runs of `runs` without summary.json, or whose recorded identity is not their run_identity().
std::vector<const Run*> pending_runs(const std::vector<Run>& runs, const std::filesystem::path& results_dir);

// The identity a finished run recorded (runs/<id>/identity), or "".
std::string recorded_identity(const Run& run, const std::filesystem::path& results_dir);

// The `dmlsim sweep` command; returns the exit code (0 all done, 2 bad study or another sweep
// running into the same directory, 3 some run failed).

int sweep_command(const SweepOptions& options);

}  // namespace dmlsim::study
