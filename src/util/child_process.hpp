// Runs a function in a forked child and returns the text it produced. SimGrid allows one simulation
// per process (a second engine keeps the old clock), so whatever simulates more than once — tests,
// calibration — simulates each time in a child, as WRENCH's tests do.
#pragma once

#include <functional>
#include <string>

namespace dmlsim {

// The child's returned text; if the child threw, crashed or exited non-zero, a std::runtime_error
// carrying what it reported. The child leaves with _exit, running none of the parent's destructors.
std::string run_in_child(const std::function<std::string()>& body);

// Runs `body` in a forked child whose standard error is captured, so that a library that aborts the
// process (SimGrid's xbt_die) can be tried without taking the caller down. The child is killed
// after `timeout_seconds`.
struct ChildOutcome {
  bool succeeded = false;  // exited with status 0
  std::string diagnostics; // what it wrote to stderr
  std::string ending;      // how it ended if it did not succeed ("killed by signal: Aborted")
};
ChildOutcome run_capturing_stderr(const std::function<void()>& body, unsigned timeout_seconds = 60);

// Runs `body` in a forked child that shares the caller's standard streams and receives SIGTERM
// when the caller dies, so that a library abort (SimGrid's xbt_die, an exception escaping an actor)
// ends the child, not the caller. While it waits, the caller passes SIGINT, SIGTERM and SIGHUP on
// to the child instead of ending before it. Returns the child's exit code, or 128 + the signal that
// ended it with `ending` describing it ("killed by signal: Aborted").
int run_as_child(const std::function<int()>& body, std::string& ending);

// SIGINT, SIGTERM, SIGHUP: someone asked the process to stop (not a crash).
bool termination_request(int signal);

}  // namespace dmlsim
