// A model of one Linux TCP connection's congestion window across the messages it carries, so that
// a message's time follows from the round trips it needs and the bandwidth share it gets:
//   initial window (IW10), slow start ending when the window fills the path (CUBIC's HyStart),
//   CUBIC congestion-avoidance growth (time counted only while sending, as Linux shifts the epoch
//   over idle periods), restart after an idle longer than the retransmission timeout
//   (net.ipv4.tcp_slow_start_after_idle: halve per RTO elapsed, not below the initial window),
//   window caps from the send and receive buffers (tcp_wmem / tcp_rmem maxima; the advertised
//   window is a share of the receive buffer, rcv_buffer_share), and optionally a drop-tail
//   bottleneck queue: a window beyond path + queue, or a slow-start round whose burst (one more
//   packet queued per ACK, RFC 5681's doubling) exceeds the queue, loses a packet and CUBIC
//   multiplies the window by beta; the next rounds run at the reduced window (fast recovery), and
//   each loss event holds the message one round trip more (SACK finds the hole, the
//   retransmission arrives a round trip later). HyStart leaves slow start on the ACK train, or on
//   its delay sign one round after the window passed path + threshold (its first samples measure
//   the queue the previous round left), never within a message's first burst round; it does so
//   once per connection (Linux keeps it off until a timeout), so the slow starts after idle
//   restarts double on to ssthresh. The RTO's smoothed RTT keeps the queueing
//   delay of the message's last window burst (RFC 6298's 1/8 average over the later ACKs).
//
// A message of S bytes on a path of one-way latency L (round trip R = 2L) and rate share b is
// sent in rounds: while the window w is below the path's capacity b R and the rest does not fit
// in it, a round delivers w bytes and costs R; then the rest streams at b. Its time is
//   T = L + k R + (S - sent_k) / b  =  L + S / b + extra,   extra = k R - sent_k / b >= 0,
// which SimGrid reproduces as the route latency plus `extra` while the max-min solver keeps the
// bandwidth share. Pure: no SimGrid; times are seconds, sizes bytes, windows segments.
#pragma once

#include <limits>
#include <string>

namespace dmlsim::tcp {

// Physical parameters of the sender's and receiver's TCP stacks and of the bottleneck.
struct TcpParams {
  double mss = 1448;              // payload bytes per segment (1500-byte MTU with timestamps)
  double header = 52;             // IP + TCP header bytes per segment, carried by the link too
  double initial_window = 10;     // segments (RFC 6928)
  double cubic_c = 0.4;           // CUBIC's C, segments per second cubed
  double cubic_beta = 0.7;        // CUBIC's multiplicative decrease
  double rto_min = 0.200;         // minimum retransmission timeout; the RTO is the RTT plus this
  double rmem_max = 6291456;      // net.ipv4.tcp_rmem maximum, bytes
  double wmem_max = 4194304;      // net.ipv4.tcp_wmem maximum, bytes
  // Share of the receive buffer the receiver advertises as window: 1/2 with tcp_adv_win_scale=1
  // (Linux up to 6.5); since 6.6 the payload / memory ratio of the segments it receives
  // (tp->scaling_ratio, e.g. 1448 B charged as a 2304-byte buffer: 160/256).
  double rcv_buffer_share = 0.5;
  bool slow_start_after_idle = true;
  bool hystart = true;            // CUBIC's HyStart ends slow start when the window fills the path
  double queue_packets = 0;       // drop-tail bottleneck queue, packets; 0: losses not modelled

  // Payload share of what the link carries: mss / (mss + header).
  double efficiency() const { return mss / (mss + header); }
  // The largest window the buffers allow, segments: the advertised share of the receive buffer or
  // the send buffer, whichever is smaller.
  double window_cap() const;
};

// The path a message takes, as the sender sees it when the message starts.
struct TcpPath {
  double latency = 0;  // one-way, seconds
  double rate = 0;     // payload bytes per second the connection is expected to get (its share)
  int flows = 1;       // connections expected to share the bottleneck queue
};

// What a connection remembers between messages.
struct ConnectionState {
  bool opened = false;
  double cwnd = 0;                                         // segments
  double ssthresh = std::numeric_limits<double>::infinity();  // segments
  double cubic_origin = 0;   // window CUBIC grows from (or back to), segments
  double cubic_k = 0;        // seconds after the epoch start at which the curve reaches the origin
  double cubic_elapsed = 0;  // seconds of sending since the epoch started
  bool in_epoch = false;
  bool hystart_found = false;  // HyStart has ended a slow start (it stays off until a timeout)
  double last_send = 0;      // when the connection last sent data, seconds
  double rttvar = 0;         // Linux's RTT variation term of the RTO, seconds
  double srtt = 0;           // smoothed RTT at the end of the latest message (queueing included), seconds
  int losses = 0;            // loss events so far (queue overflows)
};

struct MessageTiming {
  double extra_latency = 0;  // seconds beyond latency + bytes / rate
  double duration = 0;       // latency + bytes / rate + extra_latency
  int window_rounds = 0;     // round trips in which the window, not the rate, limited the message
};

// Sends `bytes` starting at `now` and advances `state` to the end of the message. Throws
// std::invalid_argument for a non-positive rate or size, or a negative latency.
MessageTiming send_message(ConnectionState& state, const TcpParams& params, const TcpPath& path, double bytes,
                           double now);

// Checks physical plausibility; returns an empty string or what is wrong (e.g. "the initial
// window must be at least 1 segment").
std::string check_params(const TcpParams& params);

}  // namespace dmlsim::tcp
