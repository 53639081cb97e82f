// The TCP connection model (network/tcp_model): pure arithmetic, checked against hand-worked rounds.
#include "network/tcp_model.hpp"

#include <cmath>
#include <gtest/gtest.h>

using namespace dmlsim::tcp;

namespace {

constexpr double kMss = 1448;

// 100 Mbit/s of payload and 50 ms one way: the path holds 863 segments per round trip.
TcpPath wan() { return {0.050, 12.5e6, 1}; }

}  // namespace

TEST(TcpModel, FirstMessageDoublesTheInitialWindowEachRoundTrip) {
  ConnectionState state;
  const TcpParams params;
  const double bytes = 1e6;  // 690.6 segments
  const auto t = send_message(state, params, wan(), bytes, 0);
  // Windows 10, 20, 40, 80, 160, 320 (630 segments) each cost a round trip; 640 holds the rest.
  EXPECT_EQ(t.window_rounds, 6);
  const double rest = bytes - 630 * kMss;
  EXPECT_NEAR(t.duration, 0.050 + 6 * 0.100 + rest / 12.5e6, 1e-12);
  EXPECT_NEAR(t.duration, 0.050 + bytes / 12.5e6 + t.extra_latency, 1e-12);
  EXPECT_NEAR(state.last_send, 6 * 0.100 + rest / 12.5e6, 1e-12);
}

TEST(TcpModel, SmallMessageTakesLatencyPlusTransfer) {
  ConnectionState state;
  const auto t = send_message(state, TcpParams{}, wan(), 10 * kMss, 0);
  EXPECT_EQ(t.window_rounds, 0);
  EXPECT_DOUBLE_EQ(t.extra_latency, 0);
  EXPECT_DOUBLE_EQ(t.duration, 0.050 + 10 * kMss / 12.5e6);
}

TEST(TcpModel, LaterMessagesReuseTheOpenedWindow) {
  ConnectionState state;
  const TcpParams params;
  const auto first = send_message(state, params, wan(), 4e6, 0);
  const auto second = send_message(state, params, wan(), 4e6, state.last_send + 0.1);  // idle < RTO
  EXPECT_GT(first.window_rounds, 0);
  EXPECT_EQ(second.window_rounds, 0);  // HyStart left slow start with the path full
  EXPECT_NEAR(second.duration, 0.050 + 4e6 / 12.5e6, 1e-12);
}

TEST(TcpModel, IdleLongerThanTheRtoRestartsSlowStart) {
  const TcpParams params;
  const double rto = 0.100 + params.rto_min;
  for (double idle : {0.9 * rto, 1.5 * rto, 2.5 * rto, 100.0}) {
    ConnectionState state;
    send_message(state, params, wan(), 4e6, 0);
    const auto again = send_message(state, params, wan(), 4e6, state.last_send + idle);
    if (idle < rto) {
      EXPECT_EQ(again.window_rounds, 0) << idle;
    } else {
      EXPECT_GT(again.window_rounds, 0) << idle;
    }
  }
  // The window halves once per RTO elapsed, never below the initial window.
  ConnectionState state;
  send_message(state, params, wan(), 4e6, 0);
  const double window = state.cwnd;
  ConnectionState copy = state;
  const double idle = 2.5 * rto;  // two RTOs elapsed beyond the first: halved twice
  TcpPath tiny = wan();
  send_message(copy, params, tiny, 1, state.last_send + idle);
  EXPECT_DOUBLE_EQ(copy.cwnd, std::floor(std::floor(window / 2) / 2));
  EXPECT_GE(copy.ssthresh, std::floor(0.75 * window));
  ConnectionState long_idle = state;
  send_message(long_idle, params, tiny, 1, state.last_send + 1000);
  EXPECT_DOUBLE_EQ(long_idle.cwnd, params.initial_window);
}

TEST(TcpModel, WithoutSlowStartAfterIdleTheWindowStays) {
  TcpParams params;
  params.slow_start_after_idle = false;
  ConnectionState state;
  send_message(state, params, wan(), 4e6, 0);
  const auto again = send_message(state, params, wan(), 4e6, state.last_send + 100);
  EXPECT_EQ(again.window_rounds, 0);
}

TEST(TcpModel, BuffersCapTheWindowAndSoTheRate) {
  TcpParams params;
  params.rmem_max = 2 * 100 * kMss;  // advertised window: 100 segments, an eighth of the path
  params.initial_window = 100;
  EXPECT_DOUBLE_EQ(params.window_cap(), 100);
  ConnectionState state;
  const double bytes = 1000 * kMss;
  const auto t = send_message(state, params, wan(), bytes, 0);
  // 100 segments per round trip: nine full rounds, the tenth streams.
  EXPECT_EQ(t.window_rounds, 9);
  EXPECT_NEAR(t.duration, 0.050 + 9 * 0.100 + 100 * kMss / 12.5e6, 1e-12);
  params.wmem_max = 50 * kMss;  // the send buffer caps it further
  EXPECT_DOUBLE_EQ(params.window_cap(), 50);
}

TEST(TcpModel, ASmallerShareNeedsFewerWindowRounds) {
  // Four flows sharing the path: each fills its quarter of the pipe with a quarter of the window.
  ConnectionState alone, shared;
  const auto a = send_message(alone, TcpParams{}, wan(), 1e6, 0);
  const auto s = send_message(shared, TcpParams{}, {0.050, 12.5e6 / 4, 4}, 1e6, 0);
  EXPECT_LT(s.window_rounds, a.window_rounds);
  EXPECT_GT(s.duration, a.duration);
}

TEST(TcpModel, CubicGrowsTheWindowInCongestionAvoidance) {
  ConnectionState state;
  state.opened = true;
  state.cwnd = 100;
  state.ssthresh = 100;
  state.last_send = 0;
  const TcpParams params;
  const auto t = send_message(state, params, wan(), 2000 * kMss, 0);
  EXPECT_GT(t.window_rounds, 3);
  EXPECT_GT(state.cwnd, 100);
  EXPECT_TRUE(state.in_epoch);
  // Growth is bounded by half the window per round trip.
  EXPECT_LE(state.cwnd, 100 * std::pow(1.5, t.window_rounds + 1));
}

TEST(TcpModel, QueueOverflowMultipliesTheWindowByBeta) {
  TcpParams params;
  params.queue_packets = 50;
  ConnectionState state;
  state.opened = true;
  state.cwnd = 1000;  // beyond the path (863) plus the queue (50)
  state.ssthresh = 1000;
  send_message(state, params, wan(), 40e6, 0);
  EXPECT_GE(state.losses, 1);
  EXPECT_LE(state.cwnd, 863 + 50 + 1);
}

TEST(TcpModel, RejectsImpossibleParameters) {
  EXPECT_EQ(check_params(TcpParams{}), "");
  auto broken = [](auto change) {
    TcpParams p;
    change(p);
    return check_params(p);
  };
  EXPECT_NE(broken([](TcpParams& p) { p.initial_window = 0.5; }), "");
  EXPECT_NE(broken([](TcpParams& p) { p.rto_min = -0.1; }), "");
  EXPECT_NE(broken([](TcpParams& p) { p.rmem_max = 2048; }), "");
  EXPECT_NE(broken([](TcpParams& p) { p.wmem_max = 4000; }), "");
  EXPECT_NE(broken([](TcpParams& p) { p.cubic_beta = 1; }), "");
  EXPECT_NE(broken([](TcpParams& p) { p.cubic_c = 0; }), "");
  EXPECT_NE(broken([](TcpParams& p) { p.mss = 8000; p.rmem_max = 8192; }), "");
  ConnectionState state;
  EXPECT_THROW(send_message(state, TcpParams{}, {0.01, 0, 1}, 100, 0), std::invalid_argument);
  EXPECT_THROW(send_message(state, TcpParams{}, {0.01, 1e6, 1}, 0, 0), std::invalid_argument);
}

TEST(TcpModel, SameInputsGiveIdenticalResults) {
  ConnectionState a, b;
  for (int i = 0; i < 5; ++i) {
    const auto ta = send_message(a, TcpParams{}, wan(), 3e6, i * 2.0);
    const auto tb = send_message(b, TcpParams{}, wan(), 3e6, i * 2.0);
    EXPECT_EQ(ta.duration, tb.duration);
  }
}
