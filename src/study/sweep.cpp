#include "study/sweep.hpp"

#include "scenario/scenario.hpp"
#include "util/atomic_file.hpp"
#include "util/quote.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace dmlsim::study {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_interrupted = 0;

void on_signal(int signal) { g_interrupted = signal; }

std::string self_executable() {
  std::string buffer(4096, '\0');
  const auto n = ::readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (n <= 0) throw std::runtime_error("cannot find the dmlsim executable (/proc/self/exe)");
  buffer.resize(static_cast<std::size_t>(n));
  return buffer;
}

// fork + exec `binary args…` with stdout and stderr on `out_fd`, in its own process group (so a
// Ctrl-C on the terminal reaches the sweep, which then stops its children).
pid_t spawn(const std::string& binary, const std::vector<std::string>& args, int out_fd) {
  std::vector<std::string> storage = {binary};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    // The run dies with the sweep, even a SIGKILLed one (its own process group keeps it from the
    // terminal's signals, so nothing else would end it).
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the sweep died before prctl took effect
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    if (out_fd != STDOUT_FILENO && out_fd != STDERR_FILENO) ::close(out_fd);
    ::execv(binary.c_str(), argv.data());
    const char message[] = "dmlsim sweep: exec failed\n";
    [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  return pid;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return "ended abnormally";
}

// The last `n` non-empty lines of a text.
std::string tail_lines(const std::string& text, std::size_t n) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  std::string out;
  for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

std::string read_or_empty(const fs::path& file) {
  try {
    return read_file(file);
  } catch (const std::exception&) {
    return "";
  }
}

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

// Checks one run per base scenario through `dmlsim validate` (platform, hosts, link patterns),
// so that a study whose runs would all fail stops before it starts. Returns the error, or "".
std::string validate_run(const std::string& binary, const Run& run) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  Run checked = run;
  checked.identity.clear();  // an option of `run` only
  auto args = checked.run_args();
  args.insert(args.begin(), "validate");
  const pid_t pid = spawn(binary, args, fds[1]);
  ::close(fds[1]);
  std::string out;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  std::string message = tail_lines(out, 3);
  for (std::size_t pos = 0; (pos = message.find("dmlsim: ", pos)) != std::string::npos;)
    if (pos == 0 || message[pos - 1] == '\n') message.erase(pos, 8);
    else ++pos;
  return fmt::format("run {}: {}", run.id, message);
}

class Progress {
 public:
  Progress(std::size_t total, std::size_t already_done, std::size_t to_run)
      : total_(total), done_(already_done), to_run_(to_run), tty_(::isatty(STDERR_FILENO) == 1), start_(Clock::now()) {}

  void finished(const Run& run, bool ok, double seconds, const std::string& error) {
    ++finished_;
    if (ok) ++done_;
    else ++failed_;
    const std::string line = ok ? fmt::format("[{}/{}] ok {} ({:.1f} s)", done_ + failed_, total_, run.id, seconds)
                                : fmt::format("[{}/{}] FAILED {}: {}", done_ + failed_, total_, run.id, error);
    if (tty_) {
      if (!ok) std::cerr << "\r\x1b[K" << line << '\n';
      draw(true);
    } else {
      std::cerr << line << std::endl;
    }
  }

  void tick() {
    if (tty_) draw(false);
  }

  void end() {
    if (tty_ && drawn_) std::cerr << '\n';
  }

  std::size_t failed() const { return failed_; }
  std::size_t ran() const { return finished_; }

 private:
  void draw(bool force) {
    const auto now = Clock::now();
    if (!force && drawn_ && now - last_draw_ < std::chrono::milliseconds(250)) return;
    last_draw_ = now;
    drawn_ = true;
    constexpr std::size_t width = 30;
    const std::size_t count = done_ + failed_;
    const std::size_t filled = total_ ? count * width / total_ : width;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    std::string eta = "--";
    if (finished_ > 0) eta = format_duration(elapsed / static_cast<double>(finished_) * static_cast<double>(to_run_ - finished_));
    std::cerr << fmt::format("\r[{}{}] {}/{} done, {} failed, ETA {}\x1b[K", std::string(filled, '#'),
                             std::string(width - filled, '.'), count, total_, failed_, eta)
              << std::flush;
  }

  std::size_t total_, done_, to_run_;
  std::size_t failed_ = 0, finished_ = 0;
  bool tty_;
  bool drawn_ = false;
  Clock::time_point start_, last_draw_;
};

// Ctrl-C and SIGTERM set g_interrupted while a sweep is running; the old handlers come back after.
class SignalGuard {
 public:
  SignalGuard() {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
  }
  ~SignalGuard() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// One sweep at a time per results directory (flock on DIR/.lock, released when the sweep ends,
// however it ends): a second sweep would start the same runs again beside the first one's.
class StudyLock {
 public:
  explicit StudyLock(const fs::path& results) {
    fs::create_directories(results);
    const fs::path file = results / ".lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot open " + file.string() + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw StudyBusy(fmt::format("another sweep is running into {} (it holds {}): wait for it to end, or give "
                                  "another --out", results.string(), file.string()));
    }
  }
  ~StudyLock() { ::close(fd_); }
  StudyLock(const StudyLock&) = delete;
  StudyLock& operator=(const StudyLock&) = delete;

  struct StudyBusy : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

 private:
  int fd_ = -1;
};

struct Running {
  const Run* run;
  Clock::time_point start;
};

}  // namespace

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

fs::path running_log(const fs::path& results_dir, const Run& run) { return results_dir / "runs" / ("." + run.id + ".log"); }

std::string run_command_line(const std::string& binary, const Run& run, const fs::path& results_dir) {
  const fs::path dir = results_dir / "runs" / run.id;
  const std::string d = shell_quote(dir.string());
  const std::string running = shell_quote(running_log(results_dir, run).string());
  const std::string log = shell_quote((dir / "run.log").string());
  const std::string error = shell_quote((dir / "error.txt").string());
  // The run replaces its directory whole when it succeeds: its log waits beside it until then.
  // A subshell, so that `exit` ends this run's line only when the lines are piped to one shell.
  std::string command = fmt::format("(mkdir -p {} && {} run", shell_quote((results_dir / "runs").string()), shell_quote(binary));
  for (const auto& arg : run.run_args()) command += " " + (arg.rfind("--", 0) == 0 ? arg : shell_quote(arg));
  command += fmt::format(" --out {} -q > {} 2>&1; rc=$?; mkdir -p {} && mv -f {} {}; "
                         "if [ $rc -ne 0 ]; then echo \"exit code $rc\" > {}; tail -n 5 {} >> {}; fi; exit $rc)",
                         d, running, d, running, log, error, log, error);
  return command;
}

std::vector<const Run*> pending_runs(const std::vector<Run>& runs, const fs::path& results_dir) {
  std::vector<const Run*> pending;
  for (const auto& run : runs)
    if (!fs::exists(results_dir / "runs" / run.id / "summary.json") || recorded_identity(run, results_dir) != run.identity)
      pending.push_back(&run);
  return pending;
}

std::string recorded_identity(const Run& run, const fs::path& results_dir) {
  std::ifstream in(results_dir / "runs" / run.id / "identity");
  std::string identity;
  in >> identity;
  return identity;
}

int sweep_command(const SweepOptions& options) {
  Study study;
  std::vector<Run> runs;
  try {
    study = load_study(options.study);
    runs = expand(study);
    check_runs(study, runs);
    for (auto& run : runs) run.identity = run_identity(run);
  } catch (const ScenarioError& e) {
    std::cerr << "dmlsim: " << e.what() << '\n';
    return 2;
  }
  try {
    const SignalGuard signals;
    const fs::path results = fs::absolute(options.out.empty() ? study.output_dir : fs::path(options.out)).lexically_normal();
    const std::string binary = options.binary.empty() ? self_executable() : options.binary;
    auto pending = pending_runs(runs, results);

    // `dmlsim validate` (platform, hosts, link patterns: what needs SimGrid) on a few runs that
    // together use every value of every axis, so that a bad value stops the study before it starts.
    std::set<std::string> covered;
    for (const auto* run : pending) {
      bool uses_new_value = false;
      for (std::size_t a = 0; a < run->labels.size(); ++a)
        if (covered.insert(std::to_string(a) + "\n" + run->labels[a]).second) uses_new_value = true;
      if (!uses_new_value && !covered.empty()) continue;
      covered.insert("");  // a study without axes: validate its first run only
      const auto error = validate_run(binary, *run);
      if (!error.empty()) {
        std::cerr << "dmlsim: " << study.file.string() << ":" << study.line << ": " << error;
        return 2;
      }
    }

    const StudyLock lock(results);
    pending = pending_runs(runs, results);  // as it is now that no other sweep can change it
    std::size_t changed = 0;
    for (const auto* run : pending) changed += fs::exists(results / "runs" / run->id / "summary.json");
    if (changed > 0)
      std::cerr << fmt::format("dmlsim sweep: {} finished run(s) in {} changed since they ran (their scenario, a file it "
                               "names, or the study's values): running them again\n", changed, printable(results.string()));
    const std::string json = study_json(study);
    if (fs::exists(results / "study.json")) {
      // Finished runs are kept by id: warn if what every run shares has changed since.
      try {
        const auto before = nlohmann::json::parse(read_file(results / "study.json"));
        const auto now = nlohmann::json::parse(json);
        for (const char* key : {"fixed", "base_scenario"})
          if (before.value(key, nlohmann::json()) != now.value(key, nlohmann::json()))
            std::cerr << fmt::format("dmlsim sweep: warning: '{}' differs from the previous sweep into {}; finished runs "
                                     "are kept as they are (use a new --out to start afresh)\n", key, printable(results.string()));
      } catch (const std::exception&) {
      }
    }
    write_file_atomically(results / "study.json", json);
    write_file_atomically(results / "manifest.csv", manifest_csv(study, runs));
    if (g_interrupted) {
      std::cerr << "dmlsim sweep: interrupted before any run started\n";
      return 130;
    }
    if (options.list) {
      for (const auto* run : pending) std::cout << run_command_line(binary, *run, results) << '\n';
      std::cerr << fmt::format("dmlsim sweep: {} of {} runs pending in {}\n", pending.size(), runs.size(), results.string());
      return 0;
    }

    const int hardware = static_cast<int>(std::thread::hardware_concurrency());
    const std::size_t jobs = static_cast<std::size_t>(options.jobs > 0 ? options.jobs : std::max(1, hardware));
    std::cerr << fmt::format("sweep {}: {} runs, {} already done, {} to run, {} at a time -> {}\n", study.name, runs.size(),
                             runs.size() - pending.size(), pending.size(), jobs, results.string());

    Progress progress(runs.size(), runs.size() - pending.size(), pending.size());
    std::map<pid_t, Running> running;
    std::vector<std::pair<std::string, std::string>> failures;  // id, error
    std::size_t next = 0;
    while (!g_interrupted && (next < pending.size() || !running.empty())) {
      while (!g_interrupted && running.size() < jobs && next < pending.size()) {
        const Run& run = *pending[next++];
        const fs::path dir = results / "runs" / run.id;
        fs::create_directories(results / "runs");
        const fs::path log = running_log(results, run);
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) throw std::runtime_error("cannot write " + log.string() + ": " + std::strerror(errno));
        auto args = run.run_args();
        args.insert(args.begin(), "run");
        args.insert(args.end(), {"--out", dir.string(), "-q"});
        const pid_t pid = spawn(binary, args, fd);
        ::close(fd);
        running[pid] = {&run, Clock::now()};
      }
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        progress.tick();
        continue;
      }
      const auto it = running.find(pid);
      if (it == running.end()) continue;
      const Run& run = *it->second.run;
      const double seconds = std::chrono::duration<double>(Clock::now() - it->second.start).count();
      running.erase(it);
      const fs::path dir = results / "runs" / run.id;
      fs::create_directories(dir);  // a failed run wrote nothing
      fs::rename(running_log(results, run), dir / "run.log");
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && fs::exists(dir / "summary.json");
      std::string error;
      if (!ok) {
        const std::string log_tail = tail_lines(read_or_empty(dir / "run.log"), 5);
        const std::string what = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "exit code 0 but no summary.json"
                                                                                : describe_status(status);
        write_file_atomically(dir / "error.txt", what + "\n" + log_tail);
        error = what + ": " + tail_lines(log_tail, 1);
        if (!error.empty() && error.back() == '\n') error.pop_back();
        failures.emplace_back(run.id, error);
      }
      progress.finished(run, ok, seconds, error);
    }
    progress.end();

    if (g_interrupted) {
      for (const auto& [pid, r] : running) ::kill(-pid, SIGTERM);
      for (const auto& [pid, r] : running) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        fs::remove(running_log(results, *r.run));  // an interrupted run leaves nothing
      }
      std::cerr << fmt::format("sweep {}: interrupted; {} runs finished, {} failed, {} left. Run the same command to resume.\n",
                               study.name, progress.ran() - progress.failed(), progress.failed(),
                               pending.size() - progress.ran());
      return 130;
    }
    fmt::print("sweep {}: {} runs: {} ran now, {} already done, {} failed\n", study.name, runs.size(),
               progress.ran() - progress.failed(), runs.size() - pending.size(), progress.failed());
    for (const auto& [id, error] : failures) fmt::print("  FAILED {}: {} (log: {})\n", id, error, (results / "runs" / id / "run.log").string());
    fmt::print("results in {}/ (tabulate: dmlsim table {})\n", results.string(), results.string());
    return failures.empty() ? 0 : 3;
  } catch (const StudyLock::StudyBusy& e) {
    std::cerr << "dmlsim: sweep " << options.study << ": " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "dmlsim: sweep " << options.study << ": " << e.what() << '\n';
    return 1;
  }
}

}  // namespace dmlsim::study
