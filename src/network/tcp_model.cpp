#include "network/tcp_model.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

namespace dmlsim::tcp {

namespace {

// HyStart leaves slow start only once the window reaches this many segments (hystart_low_window).
constexpr double kHystartLowWindow = 16;
// At most this many growth steps per streamed part of a message: long transfers on short paths
// take coarser steps, which only matters while the window is still growing.
constexpr double kMaxStreamSteps = 256;

bool in_slow_start(const ConnectionState& s) { return s.cwnd < s.ssthresh; }

// Linux tcp_cwnd_restart: after an idle longer than the RTO, halve the window once per RTO
// elapsed, not below the initial window, remembering three quarters of it as ssthresh.
void restart_after_idle(ConnectionState& s, const TcpParams& p, double idle, double rto) {
  const double restart_window = std::min(p.initial_window, s.cwnd);
  s.ssthresh = std::max(s.ssthresh, std::floor(s.cwnd * 0.75));
  double cwnd = s.cwnd;
  for (double left = idle - rto; left > 0 && cwnd > restart_window; left -= rto) cwnd = std::floor(cwnd / 2);
  s.cwnd = std::max(cwnd, restart_window);
}

// CUBIC: W(t) = origin + C (t - K)^3, evaluated one round trip ahead as Linux does; the window
// approaches it by at most half itself per round trip.
void cubic_grow(ConnectionState& s, const TcpParams& p, double rtt, double dt) {
  if (!s.in_epoch) {
    s.in_epoch = true;
    s.cubic_elapsed = 0;
    if (s.cubic_origin <= s.cwnd) {
      s.cubic_origin = s.cwnd;
      s.cubic_k = 0;
    } else {
      s.cubic_k = std::cbrt((s.cubic_origin - s.cwnd) / p.cubic_c);
    }
  }
  s.cubic_elapsed += dt;
  const double target = s.cubic_origin + p.cubic_c * std::pow(s.cubic_elapsed + rtt - s.cubic_k, 3);
  double growth = std::min(std::max(target - s.cwnd, 0.0), s.cwnd / 2);
  // Before its first loss CUBIC does not know the path and grows at least 5 % per round trip.
  if (s.losses == 0) growth = std::max(growth, 0.05 * s.cwnd);
  s.cwnd += growth * dt / rtt;
}

// Slow start: one segment more per segment acknowledged, while the flow keeps at least half its
// window in flight (Linux tcp_is_cwnd_limited), up to ssthresh.
void slow_start_grow(ConnectionState& s, double acked, double in_flight) {
  s.cwnd = std::max(s.cwnd, std::min({s.cwnd + acked, 2 * in_flight, s.ssthresh}));
}

// A loss: CUBIC remembers the window (less, with fast convergence, if it is below the one it
// remembered) and multiplies the window by beta; fast recovery ends slow start there.
void lose(ConnectionState& s, const TcpParams& p, double window) {
  s.cubic_origin = window < s.cubic_origin ? window * (1 + p.cubic_beta) / 2 : window;
  s.cwnd = std::max(2.0, std::floor(window * p.cubic_beta));
  s.ssthresh = s.cwnd;
  s.in_epoch = true;
  s.cubic_elapsed = 0;
  s.cubic_k = std::cbrt(std::max(0.0, s.cubic_origin - s.cwnd) / p.cubic_c);
  ++s.losses;
}

// The connection's share of a drop-tail queue of Q packets; infinite when losses are not modelled.
double queue_share(const TcpParams& p, const TcpPath& path) {
  return p.queue_packets > 0 ? p.queue_packets / std::max(1, path.flows) : std::numeric_limits<double>::infinity();
}

// A window beyond the connection's share of path plus queue overflows the queue.
void lose_on_overflow(ConnectionState& s, const TcpParams& p, const TcpPath& path, double pipe) {
  if (s.cwnd > pipe + queue_share(p, path)) lose(s, p, s.cwnd);
}

// HyStart (tcp_cubic.c) leaves slow start on one of two signs. The ACK train: the connection's
// delayed ACKs (one per two segments) come closer together than hystart_ack_delta (2 ms) and span
// half a round trip, so the window holds half the path. The delay: the round trip grows by
// clamp(RTT / 8, 4 ms, 16 ms), once the window exceeds the path by that much queueing. It reads the
// first eight RTT samples of a round, which measured the queue the window in flight when the
// previous round began left: it fires one round after a window beyond path + threshold, when slow
// start has doubled that window, and never within the round of a message's first burst (sent into an
// empty queue). At low rates the ACKs are too far apart for the train, and only the delay sign is left.
constexpr double kHystartAckDelta = 0.002;

bool ack_train_works(const TcpParams& p, const TcpPath& path) { return 2 * p.mss / path.rate <= kHystartAckDelta; }

double delay_sign_window(const TcpParams& p, const TcpPath& path, double pipe, double rtt) {
  return pipe + std::clamp(rtt / 8, 0.004, 0.016) * path.rate / p.mss;
}

// Slow start's burst: the window w comes back as w ACKs at the bottleneck rate and each ACK
// releases two segments (RFC 5681 3.1), so the queue grows by one packet per ACK while the window
// grows: it peaks at next - w when the window reaches `next`, or at what the window holds beyond
// the path, whichever is larger.
double slow_start_queue_peak(double w, double next, double pipe) { return std::max(next - w, next - pipe); }

// HyStart ends slow start once per connection: tcp_cubic.c keeps `found` until a retransmission
// timeout resets it, so the slow starts after idle restarts run on to ssthresh.
bool hystart_armed(const ConnectionState& s, const TcpParams& p) { return p.hystart && !s.hystart_found; }

void hystart_exit(ConnectionState& s) {
  s.ssthresh = s.cwnd;
  s.hystart_found = true;
}

// One round trip in which the window `w` limited the message; true when it lost a packet, which
// costs the message a round trip of recovery (the retransmission, RFC 6582 / 6675).
bool after_window_round(ConnectionState& s, const TcpParams& p, const TcpPath& path, double w, double pipe, double rtt) {
  if (in_slow_start(s)) {
    // The ACK train of a window of half the path: it leaves slow start with about the whole path.
    if (hystart_armed(s, p) && ack_train_works(p, path) && w >= pipe / 2 && w >= kHystartLowWindow) {
      s.cwnd = std::min(2 * w, w + pipe / 2);
      hystart_exit(s);
    } else {
      slow_start_grow(s, w, w);
    }
    const double next = std::min(s.cwnd, p.window_cap());
    if (slow_start_queue_peak(w, next, pipe) > queue_share(p, path)) {
      lose(s, p, next);
      return true;
    }
    return false;
  }
  if (w >= s.cwnd) cubic_grow(s, p, rtt, rtt);
  const int before = s.losses;
  lose_on_overflow(s, p, path, pipe);
  return s.losses != before;
}

// The rest of a message, `segments` long, once it either fits in the window or the window fills
// the path: it streams at the path rate for `duration` while the window keeps growing if full.
// `previous_window` is the window of the round before (0 if none): the ACK clock sends the last,
// partial window while that one is still being acknowledged, so both count as in flight.
void while_streaming(ConnectionState& s, const TcpParams& p, const TcpPath& path, double segments, double pipe,
                     double rtt, double duration, double previous_window) {
  const double cap = p.window_cap();
  const bool path_full = std::min(s.cwnd, cap) >= pipe;
  if (path_full && in_slow_start(s) && hystart_armed(s, p) && s.cwnd >= kHystartLowWindow && ack_train_works(p, path))
    hystart_exit(s);
  if (!path_full || segments <= s.cwnd) {  // the rest fits in the window: application-limited
    if (in_slow_start(s)) slow_start_grow(s, segments, std::min(s.cwnd, previous_window + segments));
    return;
  }
  const double step = std::max(rtt, duration / kMaxStreamSteps);
  for (double left = duration; left > 0 && segments > s.cwnd && s.cwnd < cap; left -= step) {
    const double dt = std::min(step, left);
    if (in_slow_start(s)) {
      const double in_flight = s.cwnd;
      slow_start_grow(s, in_flight, in_flight);
      if (hystart_armed(s, p) && in_flight >= delay_sign_window(p, path, pipe, rtt)) hystart_exit(s);
    } else {
      cubic_grow(s, p, rtt, dt);
    }
    lose_on_overflow(s, p, path, pipe);
    segments -= path.rate * dt / p.mss;
  }
}

// The queue the srtt still carries from the last window round: that window went out as a burst
// (slow start's two segments per ACK, or the whole window at once when the application writes a
// message into an open window), so its last segments waited behind up to the whole window in the
// bottleneck queue. Linux's srtt moves 1/8 towards each RTT sample (RFC 6298), one per delayed ACK
// (two segments), so the rest of the message, sent after that round, decays the excess.
double burst_queue_in_srtt(double last_window, double rest_segments) {
  return last_window * std::pow(7.0 / 8.0, rest_segments / 2);
}

// Linux lowers rttvar by a quarter of its excess over the minimum RTO once per round trip of data
// when the RTT samples agree.
void decay_rttvar(ConnectionState& s, const TcpParams& p, double round_trips) {
  s.rttvar = p.rto_min + (s.rttvar - p.rto_min) * std::pow(0.75, round_trips);
}

}  // namespace

double TcpParams::window_cap() const { return std::min(rmem_max * rcv_buffer_share, wmem_max) / mss; }

MessageTiming send_message(ConnectionState& state, const TcpParams& params, const TcpPath& path, double bytes,
                           double now) {
  if (!(bytes > 0) || !(path.rate > 0) || !(path.latency >= 0))
    throw std::invalid_argument(fmt::format("tcp model: a message needs a size, a rate and a latency (got {} B, {} B/s, {} s)",
                                            bytes, path.rate, path.latency));
  const double rtt = 2 * path.latency;
  if (!state.opened) {
    state = ConnectionState{};
    state.opened = true;
    state.cwnd = params.initial_window;
    state.rttvar = std::max(2 * rtt, params.rto_min);  // the handshake's sample (tcp_rtt_estimator)
  } else if (const double rto = state.srtt + state.rttvar; params.slow_start_after_idle && now - state.last_send > rto) {
    restart_after_idle(state, params, now - state.last_send, rto);
  }
  const double cap = params.window_cap();
  const double pipe = path.rate * rtt / params.mss;  // segments the path holds in one round trip
  // TCP sends whole segments: the window is a number of them, the message's last one may be short.
  const auto usable_window = [&] { return std::max(1.0, std::floor(std::min(state.cwnd, cap))); };
  double segments = std::ceil(bytes / params.mss);
  double unsent = bytes;
  MessageTiming timing;
  double sending = 0;
  double previous_window = 0;
  for (double w = usable_window(); w < pipe && segments > w; w = usable_window()) {
    previous_window = w;
    segments -= w;
    unsent -= w * params.mss;
    sending += rtt;
    ++timing.window_rounds;
    // A loss event holds the message a round trip: SACK reveals the hole a round trip after the
    // burst, and the retransmissions take another to arrive (RFC 6675).
    if (after_window_round(state, params, path, w, pipe, rtt)) sending += rtt;
  }
  const double streaming = unsent / path.rate;
  // The last segments wait behind whatever the window put in the bottleneck queue beyond the path.
  const double queued = std::max({0.0, std::min({state.cwnd, cap, segments}) - pipe,
                                  burst_queue_in_srtt(previous_window, segments)});
  state.srtt = rtt + queued * params.mss / path.rate;
  const int losses_before = state.losses;
  while_streaming(state, params, path, segments, pipe, rtt, streaming, previous_window);
  sending += (state.losses - losses_before) * rtt;  // each loss event's round trip of recovery
  sending += streaming;
  decay_rttvar(state, params, timing.window_rounds + std::max(1.0, std::floor(streaming / std::max(rtt, 1e-9))));
  timing.extra_latency = std::max(0.0, sending - bytes / path.rate);
  timing.duration = path.latency + bytes / path.rate + timing.extra_latency;
  state.last_send = now + sending;
  return timing;
}

std::string check_params(const TcpParams& p) {
  if (!(p.mss >= 64)) return "the MSS must be at least 64 B";
  if (!(p.header >= 0)) return "the header size must not be negative";
  if (!(p.initial_window >= 1)) return "the initial window must be at least 1 segment (1 MSS)";
  if (!(p.cubic_c > 0)) return "CUBIC's C must be positive";
  if (!(p.cubic_beta > 0 && p.cubic_beta < 1)) return "CUBIC's beta must be between 0 and 1";
  if (!(p.rto_min >= 0)) return "the minimum RTO must not be negative";
  if (!(p.rmem_max >= 4096)) return "the receive buffer (tcp_rmem maximum) must be at least 4 KiB";
  if (!(p.wmem_max >= 4096)) return "the send buffer (tcp_wmem maximum) must be at least 4 KiB";
  if (!(p.rcv_buffer_share > 0 && p.rcv_buffer_share <= 1)) return "the advertised share of the receive buffer must be in (0, 1]";
  if (!(p.window_cap() >= 1)) return "the buffers allow a window of less than 1 MSS";
  if (!(p.queue_packets >= 0)) return "the bottleneck queue must not be negative";
  return "";
}

}  // namespace dmlsim::tcp
