// `dmlsim sweep` and `dmlsim table`: register the subcommands on the CLI11 app and run them.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace dmlsim {

// Adds the `sweep` and `table` subcommands to `app`. The returned function runs whichever of
// them was parsed and returns its exit code, or -1 if neither was.
std::function<int()> add_study_commands(CLI::App& app);

}  // namespace dmlsim
