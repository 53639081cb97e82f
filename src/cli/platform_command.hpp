// `dmlsim platform`: writes a SimGrid platform from a measured region matrix.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace dmlsim {

// Adds the subcommand; the returned function runs it if it was parsed (returns its exit code) and
// returns -1 otherwise.
std::function<int()> add_platform_command(CLI::App& app);

}  // namespace dmlsim
