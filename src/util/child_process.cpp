#include "util/child_process.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dmlsim {

namespace {

std::string read_all(int fd) {
  std::string out;
  std::array<char, 4096> buffer{};
  ssize_t n = 0;
  while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) out.append(buffer.data(), static_cast<std::size_t>(n));
  return out;
}

void write_all(int fd, const std::string& text) {
  for (std::size_t done = 0; done < text.size();) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
}

struct Finished {
  std::string output;  // what the child wrote to the pipe
  int status = 0;      // as waitpid reports it
};

// Forks; the child runs `child` with the pipe's write end and leaves with _exit(its result),
// running none of the parent's destructors.
Finished fork_and_collect(const std::function<int(int)>& child) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    ::_exit(child(fds[1]));
  }
  ::close(fds[1]);
  Finished finished;
  finished.output = read_all(fds[0]);
  ::close(fds[0]);
  ::waitpid(pid, &finished.status, 0);
  return finished;
}

}  // namespace

std::string run_in_child(const std::function<std::string()>& body) {
  const auto finished = fork_and_collect([&](int fd) {
    std::string out;
    int code = 0;
    try {
      out = body();
    } catch (const std::exception& e) {
      out = e.what();
      code = 1;
    }
    write_all(fd, out);
    return code;
  });
  if (!WIFEXITED(finished.status) || WEXITSTATUS(finished.status) != 0)
    throw std::runtime_error(finished.output.empty() ? "the simulation process crashed" : finished.output);
  return finished.output;
}

ChildOutcome run_capturing_stderr(const std::function<void()>& body, unsigned timeout_seconds) {
  const auto finished = fork_and_collect([&](int fd) {
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
    ::alarm(timeout_seconds);
    int code = 0;
    try {
      body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      code = 1;
    }
    std::fflush(stderr);
    return code;
  });
  const int status = finished.status;
  ChildOutcome outcome;
  outcome.diagnostics = finished.output;
  outcome.succeeded = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (WIFSIGNALED(status))
    outcome.ending = WTERMSIG(status) == SIGALRM ? "stopped after " + std::to_string(timeout_seconds) + " s"
                                                 : std::string("killed by signal: ") + ::strsignal(WTERMSIG(status));
  else if (!outcome.succeeded)
    outcome.ending = "exit status " + std::to_string(WEXITSTATUS(status));
  return outcome;
}

namespace {

volatile sig_atomic_t g_running_child = 0;

void forward_to_child(int signal) {
  if (g_running_child > 0) ::kill(static_cast<pid_t>(g_running_child), signal);
}

// While the caller waits, a termination request (SIGINT, SIGTERM, SIGHUP) goes to the child, which
// may be moving its results into place and defers it until done: the caller must not end first.
class ForwardTerminationSignals {
 public:
  explicit ForwardTerminationSignals(pid_t child) {
    g_running_child = child;
    struct sigaction forward {};
    forward.sa_handler = forward_to_child;
    sigemptyset(&forward.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &forward, &previous_[i]);
  }
  ~ForwardTerminationSignals() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &previous_[i], nullptr);
    g_running_child = 0;
  }
  ForwardTerminationSignals(const ForwardTerminationSignals&) = delete;
  ForwardTerminationSignals& operator=(const ForwardTerminationSignals&) = delete;

 private:
  static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, 3> previous_{};
};

}  // namespace

bool termination_request(int signal) { return signal == SIGINT || signal == SIGTERM || signal == SIGHUP; }

int run_as_child(const std::function<int()>& body, std::string& ending) {
  const pid_t parent = ::getpid();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    // SIGTERM, not SIGKILL: the child defers it while it moves its results into place.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(128 + SIGTERM);  // the caller died before prctl
    const int code = body();
    std::fflush(nullptr);
    ::_exit(code);
  }
  int status = 0;
  {
    const ForwardTerminationSignals forward(pid);
    while (::waitpid(pid, &status, 0) < 0)
      if (errno != EINTR) throw std::runtime_error(std::string("waitpid failed: ") + std::strerror(errno));
  }
  if (WIFSIGNALED(status)) {
    ending = std::string("killed by signal: ") + ::strsignal(WTERMSIG(status));
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

}  // namespace dmlsim
