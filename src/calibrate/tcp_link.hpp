// The real side of calibration: a persistent TCP connection (TCP_NODELAY, Linux defaults
// otherwise) between `dmlsim calibrate serve` and `dmlsim calibrate probe`. Every blocking step
// has a deadline, so an unreachable or silent peer gives an error, never a hang.
//
// Wire protocol, one request at a time, 24-byte little-endian header then payload:
//   magic "DMLC" | op | gap in microseconds | reserved | size (u64)
//   op 1 ROUND: the server reads `size` bytes, sleeps `gap`, sends `size` bytes back.
//   op 2 SINK:  the server reads `size` bytes and answers the rate of their second half (double).
//   op 3 BYE:   the server closes the connection.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace dmlsim::calibrate {

// Network failures (refused, unreachable, timed out, peer closed): exit code 3.
class LinkError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ServeOptions {
  int port = 0;
  std::string bind = "0.0.0.0";
  double idle_timeout = 300;  // seconds without a request (or without a probe) before giving up
  bool once = false;          // stop after the first probe disconnects
  std::string congestion;     // TCP congestion control of the connection; empty: the system's default
};

// Serves probes, each connection in its own thread (a probe with several flows opens several),
// until `idle_timeout` passes with nobody connected (LinkError) or, with `once`, once the
// connections of the first probe have all closed. Prints one line when listening.
void serve(const ServeOptions& options);

class ProbeConnection {
 public:
  // "HOST:PORT"; connects within `timeout` seconds. Every later exchange also has `timeout`.
  ProbeConnection(const std::string& host_port, double timeout, const std::string& congestion = "");
  ~ProbeConnection();
  ProbeConnection(const ProbeConnection&) = delete;
  ProbeConnection& operator=(const ProbeConnection&) = delete;

  double round(std::uint64_t bytes, double gap);  // seconds from first byte sent to last byte received
  // One round on several connections at once (contention): each sends `bytes` at the same instant
  // and gets its answer; returns each connection's finish time, seconds from the common start.
  static std::vector<double> round_together(const std::vector<ProbeConnection*>& connections, std::uint64_t bytes,
                                            double gap);
  double sink(std::uint64_t bytes);               // bytes/s of the second half, as received by the server
  void bye();

 private:
  void send_header(std::uint32_t op, std::uint64_t size, double gap);
  int fd_ = -1;
  double timeout_;
  std::string peer_;
  std::vector<char> buffer_;
};

// Packets dropped by this host's own network interfaces (sum of tx_dropped and rx_dropped over
// every interface but loopback) and packets they sent: a probe whose host drops packets measures
// the host, not the path.
struct InterfaceCounters {
  long long dropped = 0;
  long long sent = 0;
};
InterfaceCounters interface_counters();

// Splits "HOST:PORT" ("[v6]:PORT" too); throws std::invalid_argument.
std::pair<std::string, int> split_host_port(const std::string& text);

}  // namespace dmlsim::calibrate
