#include "util/atomic_file.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace dmlsim {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& path, int error) {
  throw OutputError(what + " " + path.string() + ": " + std::strerror(error));
}

// write(2) and fsync(2) report a full disk; an ofstream would only say that it failed.
void write_new_file(const fs::path& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot write", path, errno);
  for (std::size_t done = 0; done < content.size();) {
    const auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : ENOSPC;
      ::close(fd);
      fail("cannot write", path, error);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) fail("cannot write", path, errno);
}

void create_parent(const fs::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) throw OutputError("cannot create directory " + path.parent_path().string() + ": " + ec.message());
}

// Holds back SIGINT, SIGTERM and SIGHUP while results are moved into place, so that an interrupted
// sweep (which terminates its runs) cannot leave a half-written temporary. They are delivered after.
class DeferTerminationSignals {
 public:
  DeferTerminationSignals() {
    sigset_t block;
    sigemptyset(&block);
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&block, signal);
    ::sigprocmask(SIG_BLOCK, &block, &previous_);
  }
  ~DeferTerminationSignals() { ::sigprocmask(SIG_SETMASK, &previous_, nullptr); }
  DeferTerminationSignals(const DeferTerminationSignals&) = delete;
  DeferTerminationSignals& operator=(const DeferTerminationSignals&) = delete;

 private:
  sigset_t previous_{};
};

bool process_alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

// Removes the siblings of `target` named PREFIX + NAME + ".tmp." + PID whose writer is
// no longer running: what a killed run leaves behind.
void remove_stale_temporaries(const fs::path& target, const std::string& prefix) {
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string name = prefix + target.filename().string();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string file = entry.path().filename().string();
    const std::string stem = name + ".tmp.";
    if (file.size() <= stem.size() || file.compare(0, stem.size(), stem) != 0) continue;
    const std::string pid = file.substr(stem.size());
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9) continue;
    if (!process_alive(std::stol(pid))) fs::remove_all(entry.path(), ec);
  }
}

}  // namespace

void remove_abandoned_temporaries(const fs::path& dir) { remove_stale_temporaries(dir, "."); }

bool replaceable_directory(const fs::path& dir, const std::vector<std::string>& markers) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  if (!fs::is_directory(dir, ec)) return false;
  if (fs::is_empty(dir, ec)) return true;
  for (const auto& marker : markers)
    if (fs::exists(dir / marker, ec)) return true;
  return false;
}

void write_file_atomically(const fs::path& path, const std::string& content) {
  create_parent(path);
  remove_stale_temporaries(path, "");
  // The pid keeps concurrent writers (parallel sweeps sharing a directory) from clobbering each other.
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  std::error_code ec;
  try {
    write_new_file(tmp, content);
  } catch (const OutputError&) {
    fs::remove(tmp, ec);
    throw;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    fs::remove(tmp, ec);
    fail("cannot rename " + tmp.string() + " to", path, error);
  }
}

void write_directory_atomically(const fs::path& dir, const NamedContents& files, const std::vector<std::string>& markers) {
  std::error_code ec;
  if (!replaceable_directory(dir, markers))
    throw OutputError(dir.string() + " exists and is not a dmlsim result directory (it holds none of its files): "
                      "choose another output directory");
  const bool exists = fs::exists(dir, ec);
  create_parent(dir);
  remove_abandoned_temporaries(dir);
  const DeferTerminationSignals defer;
  const auto sibling = [&](const char* kind) {
    return (dir.has_parent_path() ? dir.parent_path() : fs::path(".")) /
           ("." + dir.filename().string() + kind + std::to_string(::getpid()));
  };
  const fs::path tmp = sibling(".tmp.");
  fs::remove_all(tmp, ec);
  try {
    if (!fs::create_directory(tmp, ec)) fail("cannot create directory", tmp, ec.value());
    for (const auto& [name, content] : files) write_new_file(tmp / name, content);
  } catch (const OutputError&) {
    fs::remove_all(tmp, ec);
    throw;
  }
  // RENAME_EXCHANGE swaps both names in one step: there is never a moment without `dir`.
  const int swapped = exists ? ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE)
                             : ::rename(tmp.c_str(), dir.c_str());
  if (swapped != 0) {
    const int error = errno;
    fs::remove_all(tmp, ec);
    fail("cannot move the results into", dir, error);
  }
  if (exists) fs::remove_all(tmp, ec);  // now the previous results
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace dmlsim
