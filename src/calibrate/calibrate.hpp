// `dmlsim calibrate`: measure a real network and write a network profile that reproduces it.
//   calibrate serve --port P                      on one machine
//   calibrate probe HOST:P --out profile.xml      on another: measures, fits, writes, compares
//   calibrate simulate --profile NAME ...         simulated round times under a profile
//   calibrate fit MEASUREMENTS.json... --out F    fits one profile to several probes' measurements
#pragma once

#include <CLI/CLI.hpp>

namespace dmlsim {

// Registers the subcommand and its options on `app`; returns it (check `parsed()`).
CLI::App* add_calibrate_command(CLI::App& app);

// Runs whichever calibrate subcommand was parsed; returns the exit code (0, 2 bad input,
// 3 network failure, 1 unexpected).
int run_calibrate_command();

}  // namespace dmlsim
