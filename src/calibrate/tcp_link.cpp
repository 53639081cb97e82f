#include "calibrate/tcp_link.hpp"

#include "util/quote.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace dmlsim::calibrate {

namespace {

constexpr std::uint32_t kMagic = 0x434c4d44;  // "DMLC" little-endian
constexpr std::uint32_t kRound = 1, kSink = 2, kBye = 3;
constexpr std::size_t kHeader = 24;
constexpr std::uint64_t kMaxRequest = 1ull << 30;  // a probe never asks for more than 1 GiB
constexpr int kMaxSessions = 64;                   // connections served at once (a probe's flows)

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Header {
  std::uint32_t op = 0;
  std::uint32_t gap_us = 0;
  std::uint64_t size = 0;
};

void encode(char* out, const Header& h) {
  const std::uint32_t words[4] = {kMagic, h.op, h.gap_us, 0};
  std::memcpy(out, words, sizeof words);
  std::memcpy(out + 16, &h.size, sizeof h.size);
}

// Waits until `fd` is ready for `events` or the deadline passes (LinkError naming `what`).
void wait_for(int fd, short events, double deadline, const std::string& what) {
  for (;;) {
    const double left = deadline - now();
    if (left <= 0) throw LinkError(fmt::format("timed out {}", what));
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::ceil(left * 1000)));
    if (n > 0) return;
    if (n < 0 && errno != EINTR) throw LinkError(fmt::format("poll failed {}: {}", what, std::strerror(errno)));
  }
}

void send_all(int fd, const char* data, std::size_t size, double deadline, const std::string& what) {
  while (size > 0) {
    const auto n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait_for(fd, POLLOUT, deadline, what);
    } else if (n < 0 && errno != EINTR) {
      throw LinkError(fmt::format("send failed {}: {}", what, std::strerror(errno)));
    }
  }
}

void recv_all(int fd, char* data, std::size_t size, double deadline, const std::string& what) {
  while (size > 0) {
    const auto n = ::recv(fd, data, size, 0);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
    } else if (n == 0) {
      throw LinkError(fmt::format("the peer closed the connection {}", what));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_for(fd, POLLIN, deadline, what);
    } else if (errno != EINTR) {
      throw LinkError(fmt::format("receive failed {}: {}", what, std::strerror(errno)));
    }
  }
}

void make_nonblocking_nodelay(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A per-socket congestion control, for measuring e.g. Linux's default cubic on a host tuned to
// another (namespaces other than the initial one may not change their default).
void set_congestion(int fd, const std::string& name) {
  if (name.empty()) return;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name.data(), static_cast<socklen_t>(name.size())) != 0)
    throw LinkError(fmt::format("TCP congestion control {} unavailable: {}", quote_input(name), std::strerror(errno)));
}

// Receives a bulk transfer; returns the rate of its second half, by when slow start is over, so
// the rate is the path's bottleneck bandwidth and neither latency nor start-up.
double second_half_rate(int fd, std::vector<char>& buffer, std::uint64_t size, double deadline) {
  const std::uint64_t half = size / 2;
  recv_all(fd, buffer.data(), half, deadline, "receiving a transfer");
  const double start = now();
  recv_all(fd, buffer.data() + half, size - half, deadline, "receiving a transfer");
  const double elapsed = now() - start;
  return elapsed > 0 ? static_cast<double>(size - half) / elapsed : 0;
}

// One probe's session: requests until BYE, the peer leaves, or it stays silent too long.
void serve_session(int fd, double idle_timeout) {
  make_nonblocking_nodelay(fd);
  std::vector<char> buffer;
  char header[kHeader];
  for (;;) {
    recv_all(fd, header, kHeader, now() + idle_timeout, "waiting for the probe's next request");
    std::uint32_t words[4];
    std::memcpy(words, header, sizeof words);
    Header h{words[1], words[2], 0};
    std::memcpy(&h.size, header + 16, sizeof h.size);
    if (words[0] != kMagic || h.size > kMaxRequest) throw LinkError("not a dmlsim calibrate probe (bad request)");
    if (h.op == kBye) return;
    buffer.resize(std::max<std::size_t>(h.size, sizeof(double)));
    const double deadline = now() + idle_timeout;
    if (h.op == kRound) {
      recv_all(fd, buffer.data(), h.size, deadline, "receiving a message");
      std::this_thread::sleep_for(std::chrono::microseconds(h.gap_us));
      send_all(fd, buffer.data(), h.size, deadline, "answering a round");
    } else if (h.op == kSink) {
      const double rate = second_half_rate(fd, buffer, h.size, deadline);
      send_all(fd, reinterpret_cast<const char*>(&rate), sizeof rate, deadline, "acknowledging a transfer");
    } else {
      throw LinkError(fmt::format("unknown request {}", h.op));
    }
  }
}

int listen_on(const ServeOptions& options) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw LinkError(fmt::format("socket: {}", std::strerror(errno)));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(options.port));
  if (::inet_pton(AF_INET, options.bind.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    throw std::invalid_argument(fmt::format("--bind {}: not an IPv4 address", options.bind));
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, kMaxSessions) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    throw LinkError(fmt::format("cannot listen on {}:{}: {}", options.bind, options.port, reason));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  try {
    set_congestion(fd, options.congestion);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return fd;
}

}  // namespace

std::pair<std::string, int> split_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw std::invalid_argument(fmt::format("{}: expected HOST:PORT", quote_input(text)));
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    std::size_t end = 0;
    port = std::stoi(text.substr(colon + 1), &end);
    if (end != text.size() - colon - 1) port = 0;
  } catch (const std::exception&) {
  }
  if (port < 1 || port > 65535) throw std::invalid_argument(fmt::format("{}: the port must be 1-65535", quote_input(text)));
  return {host, port};
}

void serve(const ServeOptions& options) {
  const int listener = listen_on(options);
  fmt::print("dmlsim calibrate: serving on {}:{} (several connections at once; stops after {:g} s without one{})\n",
             options.bind, options.port, options.idle_timeout, options.once ? " or after the first probe" : "");
  std::fflush(stdout);
  std::atomic<int> active{0};
  std::atomic<double> last_activity{now()};
  std::vector<std::thread> sessions;
  bool served = false;
  for (;;) {
    if (options.once && served && active == 0) break;
    if (active == 0 && now() - last_activity > options.idle_timeout) {
      for (auto& t : sessions) t.join();
      ::close(listener);
      throw LinkError(fmt::format("no probe connected within {:g} s", options.idle_timeout));
    }
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;  // wake every 100 ms to notice sessions ending
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) continue;
    if (active >= kMaxSessions) {
      ::close(fd);
      continue;
    }
    served = true;
    ++active;
    sessions.emplace_back([fd, &options, &active, &last_activity] {
      try {
        set_congestion(fd, options.congestion);
        serve_session(fd, options.idle_timeout);
      } catch (const LinkError& e) {
        fmt::print(stderr, "dmlsim calibrate serve: session ended: {}\n", e.what());
      }
      ::close(fd);
      last_activity = now();
      --active;
    });
  }
  for (auto& t : sessions) t.join();
  ::close(listener);
}

ProbeConnection::ProbeConnection(const std::string& host_port, double timeout, const std::string& congestion)
    : timeout_(timeout), peer_(host_port) {
  const auto [host, port] = split_host_port(host_port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    throw LinkError(fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc)));
  const double deadline = now() + timeout;
  std::string failure = "no address";
  for (auto* a = found; a && fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    make_nonblocking_nodelay(fd);
    try {
      set_congestion(fd, congestion);
    } catch (...) {
      ::close(fd);
      ::freeaddrinfo(found);
      throw;
    }
    int error = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        try {
          wait_for(fd, POLLOUT, deadline, "");
          socklen_t len = sizeof error;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
        } catch (const LinkError&) {
          error = ETIMEDOUT;
        }
      }
    }
    if (error == 0) fd_ = fd;
    else {
      ::close(fd);
      failure = error == ECONNREFUSED ? fmt::format("connection refused (is `dmlsim calibrate serve --port {}` running there?)", port)
              : error == ETIMEDOUT    ? fmt::format("no answer within {:g} s (host down, unreachable or filtered)", timeout)
                                      : std::strerror(error);
    }
  }
  ::freeaddrinfo(found);
  if (fd_ < 0) throw LinkError(fmt::format("cannot connect to {}: {}", host_port, failure));
}

ProbeConnection::~ProbeConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void ProbeConnection::send_header(std::uint32_t op, std::uint64_t size, double gap) {
  buffer_.resize(std::max<std::size_t>(buffer_.size(), kHeader + size));
  encode(buffer_.data(), Header{op, static_cast<std::uint32_t>(std::lround(gap * 1e6)), size});
}

double ProbeConnection::round(std::uint64_t bytes, double gap) { return round_together({this}, bytes, gap).front(); }

std::vector<double> ProbeConnection::round_together(const std::vector<ProbeConnection*>& connections, std::uint64_t bytes,
                                                    double gap) {
  const std::size_t n = connections.size();
  for (auto* c : connections) c->send_header(kRound, bytes, gap);  // header and payload in one buffer
  std::vector<std::size_t> sent(n, 0), received(n, 0);
  std::vector<double> finish(n, -1);
  std::vector<pollfd> fds(n);
  const double start = now();
  const double deadline = start + connections.front()->timeout_ + gap;
  const std::string what = fmt::format("in a {}-byte round with {}", bytes, connections.front()->peer_);
  std::size_t done = 0;
  // One thread drives every connection (no thread start-up skew between flows): send whatever
  // each socket accepts, read whatever has arrived, until every answer is complete.
  while (done < n) {
    for (std::size_t i = 0; i < n; ++i) {
      auto* c = connections[i];
      while (sent[i] < kHeader + bytes) {
        const auto k = ::send(c->fd_, c->buffer_.data() + sent[i], kHeader + bytes - sent[i], MSG_NOSIGNAL);
        if (k > 0) sent[i] += static_cast<std::size_t>(k);
        else if (k < 0 && errno == EINTR) continue;
        else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        else throw LinkError(fmt::format("send failed {}: {}", what, std::strerror(errno)));
      }
      while (finish[i] < 0) {
        // The answer arrives only after the whole request: the buffer's payload is no longer needed.
        const auto k = ::recv(c->fd_, c->buffer_.data() + received[i], bytes - received[i], 0);
        if (k > 0) received[i] += static_cast<std::size_t>(k);
        else if (k == 0 && bytes > 0) throw LinkError(fmt::format("the peer closed the connection {}", what));
        else if (k < 0 && errno == EINTR) continue;
        else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
          throw LinkError(fmt::format("receive failed {}: {}", what, std::strerror(errno)));
        if (received[i] == bytes) {
          finish[i] = now() - start;
          ++done;
        }
        if (k <= 0) break;
      }
      // A finished flow leaves the poll set (fd -1), or a hang-up on it would wake every poll.
      fds[i] = {finish[i] >= 0 ? -1 : c->fd_, static_cast<short>(POLLIN | (sent[i] < kHeader + bytes ? POLLOUT : 0)), 0};
    }
    if (done == n) break;
    const double left = deadline - now();
    if (left <= 0) throw LinkError(fmt::format("timed out {}", what));
    if (::poll(fds.data(), n, static_cast<int>(std::ceil(left * 1000))) < 0 && errno != EINTR)
      throw LinkError(fmt::format("poll failed {}: {}", what, std::strerror(errno)));
  }
  return finish;
}

double ProbeConnection::sink(std::uint64_t bytes) {
  send_header(kSink, bytes, 0);
  const double start = now();
  const double deadline = start + timeout_;
  const std::string what = fmt::format("in a {}-byte transfer to {}", bytes, peer_);
  send_all(fd_, buffer_.data(), kHeader + bytes, deadline, what);
  double rate = 0;
  recv_all(fd_, reinterpret_cast<char*>(&rate), sizeof rate, deadline, what);
  return rate;
}

void ProbeConnection::bye() {
  send_header(kBye, 0, 0);
  send_all(fd_, buffer_.data(), kHeader, now() + timeout_, "saying goodbye");
}

InterfaceCounters interface_counters() {
  InterfaceCounters counters;
  std::error_code error;
  for (const auto& dev : std::filesystem::directory_iterator("/sys/class/net", error)) {
    if (dev.path().filename() == "lo") continue;
    const auto read = [&](const char* name) {
      long long value = 0;
      std::ifstream(dev.path() / "statistics" / name) >> value;
      return value;
    };
    counters.dropped += read("tx_dropped") + read("rx_dropped");
    counters.sent += read("tx_packets");
  }
  return counters;
}

}  // namespace dmlsim::calibrate
