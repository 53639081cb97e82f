// A user-space emulated link between two TUN devices, for the network-fidelity harness (the
// kernel here has no sch_netem). Per direction: packets are serialised at the link rate behind a
// drop-tail queue (like a router port), then released after the one-way delay.
//
//   delay_line --dev-a NAME --dev-b NAME --delay-ms D --rate-mbit R [--queue-packets Q] [--max-seconds S]
//
// Creates both TUN devices in the current network namespace, prints "ready" once they exist (the
// driver then moves them into its namespaces), and forwards until SIGTERM/SIGINT or --max-seconds.
// On exit (and on SIGUSR1) it prints one JSON line of counters per direction: packets forwarded,
// `queue_drops` (the modelled drop-tail queue was full: what real TCP legitimately sees at a
// bottleneck), `write_failures` (the TUN device refused a packet: an emulator drop) and how late
// packets were released after their due time (a delay line waiting for the CPU delays them all).
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;

std::int64_t now_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

int open_tun(const std::string& name) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK);
  if (fd < 0) {
    std::perror("open /dev/net/tun");
    std::exit(77);
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    std::perror(("TUNSETIFF " + name).c_str());
    std::exit(77);
  }
  return fd;
}

constexpr std::int64_t kBatchNs = 20000;  // packets due within 20 us of a wake-up leave with it

struct Packet {
  std::int64_t release_ns;
  std::vector<char> data;
};

// One direction of the link.
struct Direction {
  int in = -1, out = -1;
  double ns_per_byte = 0;
  std::int64_t delay_ns = 0;
  std::int64_t queue_bytes = 0;  // drop-tail limit of the serialisation backlog
  std::int64_t last_departure_ns = 0;
  std::deque<Packet> in_flight;
  long forwarded = 0, queue_drops = 0, write_failures = 0;
  long late_over_1ms = 0;          // packets released more than 1 ms after their due time
  std::int64_t max_late_ns = 0;

  void receive(std::int64_t now) {
    char buffer[65536];
    for (int i = 0; i < 256; ++i) {
      const auto n = ::read(in, buffer, sizeof buffer);
      if (n <= 0) return;
      const std::int64_t start = std::max(now, last_departure_ns);
      const double backlog_bytes = static_cast<double>(start - now) / ns_per_byte;
      if (backlog_bytes + static_cast<double>(n) > static_cast<double>(queue_bytes)) {
        ++queue_drops;
        continue;
      }
      last_departure_ns = start + static_cast<std::int64_t>(static_cast<double>(n) * ns_per_byte);
      in_flight.push_back({last_departure_ns + delay_ns, std::vector<char>(buffer, buffer + n)});
    }
  }

  // Releases every packet due by `now` plus a batching window: one wake-up per packet would cost
  // more CPU than a 1 Gbit/s link leaves between packets (12 us per full segment).
  void release(std::int64_t now) {
    while (!in_flight.empty() && in_flight.front().release_ns <= now + kBatchNs) {
      const auto& p = in_flight.front().data;
      if (::write(out, p.data(), p.size()) == static_cast<ssize_t>(p.size())) ++forwarded;
      else ++write_failures;
      const std::int64_t late = std::max<std::int64_t>(0, now - in_flight.front().release_ns);
      max_late_ns = std::max(max_late_ns, late);
      if (late > 1000000) ++late_over_1ms;
      in_flight.pop_front();
    }
  }
};

volatile std::sig_atomic_t g_report = 0;

void on_signal(int) { g_stop = 1; }
void on_report(int) { g_report = 1; }

void print_counters(const Direction (&dirs)[2]) {
  std::printf("{\"directions\": [");
  for (int d = 0; d < 2; ++d)
    std::printf("%s{\"name\": \"%s\", \"forwarded\": %ld, \"queue_drops\": %ld, \"write_failures\": %ld, "
                "\"late_over_1ms\": %ld, \"max_late_us\": %.1f}",
                d ? ", " : "", d ? "b->a" : "a->b", dirs[d].forwarded, dirs[d].queue_drops, dirs[d].write_failures,
                dirs[d].late_over_1ms, static_cast<double>(dirs[d].max_late_ns) / 1e3);
  std::printf("]}\n");
  std::fflush(stdout);
}

const char* arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  if (!fallback) {
    std::fprintf(stderr, "delay_line: %s is required\n", name);
    std::exit(2);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dev_a = arg(argc, argv, "--dev-a", nullptr), dev_b = arg(argc, argv, "--dev-b", nullptr);
  const double delay_ms = std::atof(arg(argc, argv, "--delay-ms", nullptr));
  const double rate_mbit = std::atof(arg(argc, argv, "--rate-mbit", nullptr));
  const long queue_packets = std::atol(arg(argc, argv, "--queue-packets", "1000"));
  const double max_seconds = std::atof(arg(argc, argv, "--max-seconds", "600"));
  if (delay_ms < 0 || rate_mbit <= 0 || queue_packets <= 0) {
    std::fprintf(stderr, "delay_line: bad --delay-ms, --rate-mbit or --queue-packets\n");
    return 2;
  }
  ::prctl(PR_SET_TIMERSLACK, 1000UL);  // wake within 1 us of a release time, not the default 50 us
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGUSR1, on_report);

  const int fd_a = open_tun(dev_a), fd_b = open_tun(dev_b);
  Direction dirs[2];
  for (int d = 0; d < 2; ++d) {
    dirs[d].in = d == 0 ? fd_a : fd_b;
    dirs[d].out = d == 0 ? fd_b : fd_a;
    dirs[d].ns_per_byte = 8e3 / rate_mbit;  // 8 bits per byte, rate in Mbit/s -> ns per byte
    dirs[d].delay_ns = static_cast<std::int64_t>(delay_ms * 1e6);
    dirs[d].queue_bytes = queue_packets * 1500;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  const std::int64_t end = now_ns() + static_cast<std::int64_t>(max_seconds * 1e9);
  while (!g_stop && now_ns() < end) {
    std::int64_t now = now_ns();
    std::int64_t next = now + 100000000;  // wake at least every 100 ms to check the clock
    for (auto& d : dirs)
      if (!d.in_flight.empty()) next = std::min(next, d.in_flight.front().release_ns);
    const std::int64_t wait = std::max<std::int64_t>(0, next - now);
    timespec timeout{static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
    pollfd fds[2] = {{fd_a, POLLIN, 0}, {fd_b, POLLIN, 0}};
    if (::ppoll(fds, 2, &timeout, nullptr) < 0 && errno != EINTR) {
      std::perror("ppoll");
      return 1;
    }
    now = now_ns();
    for (int i = 0; i < 2; ++i)
      if (fds[i].revents & POLLIN) dirs[i].receive(now);
    for (auto& d : dirs) d.release(now);
    if (g_report) {
      g_report = 0;
      print_counters(dirs);
    }
  }
  print_counters(dirs);
  return 0;
}
