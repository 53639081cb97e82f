// The TCP connection model (network/tcp_model): pure arithmetic, checked against hand-worked
// rounds; the profiles' <tcp> element; `calibrate simulate` with several flows.
#include "network/tcp_model.hpp"
#include "scenario/network_profile.hpp"
#include "scenario/scenario.hpp"
#include "test_util.hpp"

#include <cmath>
#include <limits>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace dmlsim::tcp;
using dmlsim::testutil::read_text;
using dmlsim::testutil::run_dmlsim;
using dmlsim::testutil::TempDir;
using dmlsim::testutil::write_text;

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

TEST(TcpModel, WithoutHystartSlowStartRunsOnUntilTheQueueOverflows) {
  TcpParams params;
  params.queue_packets = 1000;
  ConnectionState with;
  send_message(with, params, wan(), 8e6, 0);
  EXPECT_EQ(with.losses, 0);  // HyStart left slow start with the path (863 segments) full
  params.hystart = false;
  ConnectionState without;
  send_message(without, params, wan(), 8e6, 0);
  EXPECT_GE(without.losses, 1);  // doubling past path + queue (1863 segments)
}

TEST(TcpModel, AtLowRatesHystartWaitsForTheQueueingDelay) {
  // At 10 Mbit/s two segments take 2.3 ms, more than HyStart's 2 ms ACK spacing: no ACK train,
  // so slow start goes on until the round trip grows by 16 ms (clamp(160 ms / 8, 4, 16 ms)).
  const TcpPath slow{0.080, 1.25e6 * 1448 / 1500, 1};
  const double pipe = slow.rate * 0.160 / kMss;
  const double delay_window = pipe + 0.016 * slow.rate / kMss;  // 146.7 segments
  ConnectionState state;
  send_message(state, TcpParams{}, slow, 20e6, 0);
  // Windows 10 ... 80 (below the path), then 160 streams: the first window beyond path + 16 ms.
  // The next round's first samples show its queue, when slow start has doubled it.
  EXPECT_GT(160, delay_window);
  EXPECT_TRUE(state.hystart_found);
  EXPECT_DOUBLE_EQ(state.ssthresh, 2 * 160);
  // A message that ends in the round of the 160-segment window (10 ... 80 are 150 segments, 31
  // more) gives HyStart no round whose start saw that queue: slow start goes on.
  ConnectionState short_message;
  send_message(short_message, TcpParams{}, slow, 181 * kMss, 0);
  EXPECT_FALSE(short_message.hystart_found);
  EXPECT_EQ(short_message.ssthresh, std::numeric_limits<double>::infinity());
  // At 100 Mbit/s the ACK train ends slow start within a round trip of filling the path.
  ConnectionState fast;
  send_message(fast, TcpParams{}, wan(), 20e6, 0);
  EXPECT_LE(fast.ssthresh, 1.5 * 863 + 1);
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

TEST(TcpModel, TheAdvertisedShareOfTheReceiveBufferSetsTheWindowCap) {
  // Linux >= 6.6 advertises the payload / memory share of what it receives: 160/256 of the buffer
  // when a 1448-byte segment is charged as a 2304-byte buffer, instead of tcp_adv_win_scale's half.
  TcpParams half, measured;
  half.rmem_max = measured.rmem_max = 256 * kMss;
  measured.rcv_buffer_share = 0.625;
  EXPECT_DOUBLE_EQ(half.window_cap(), 128);
  EXPECT_DOUBLE_EQ(measured.window_cap(), 160);
  // A 1 Gbit/s, 66 ms path holds ~5700 segments: the larger window needs fewer round trips.
  const TcpPath fast{0.033, 1.2e8, 1};
  ConnectionState a, b;
  const auto t_half = send_message(a, half, fast, 2000 * kMss, 0);
  const auto t_measured = send_message(b, measured, fast, 2000 * kMss, 0);
  EXPECT_GT(t_half.duration, t_measured.duration);
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

namespace {

// An opened connection in slow start at `cwnd` segments, HyStart off, sending 160 segments (a
// window round of 150, then the rest) into a drop-tail queue of `queue` packets.
ConnectionState slow_start_burst(double cwnd, double queue, double cubic_origin = 0) {
  TcpParams params;
  params.hystart = false;
  params.queue_packets = queue;
  ConnectionState state;
  state.opened = true;
  state.cwnd = cwnd;
  state.cubic_origin = cubic_origin;
  send_message(state, params, wan(), 160 * kMss, 0);
  return state;
}

}  // namespace

TEST(TcpModel, SlowStartBurstBeyondTheQueueLosesAndCutsTheWindowByBeta) {
  // Slow start sends two segments per ACK while the ACKs come back at the bottleneck rate: the
  // queue grows by one packet per ACK, so doubling 150 segments peaks at 150 queued packets.
  const double beta = TcpParams{}.cubic_beta;
  const auto state = slow_start_burst(150, 100);
  EXPECT_EQ(state.losses, 1);
  EXPECT_DOUBLE_EQ(state.cwnd, std::floor(300 * beta));  // beta of the window it reached
  EXPECT_DOUBLE_EQ(state.ssthresh, state.cwnd);          // recovery ends slow start
  EXPECT_DOUBLE_EQ(state.cubic_origin, 300);             // CUBIC grows back towards it
  // A queue of 150 packets or more absorbs the same burst.
  const auto roomy = slow_start_burst(150, 150);
  EXPECT_EQ(roomy.losses, 0);
  EXPECT_GE(roomy.cwnd, 300);
}

TEST(TcpModel, ALossEventCostsTheMessageOneRoundTripOfRecovery) {
  // The slow-start burst of the 150-segment window overflows a 100-packet queue: the message (a
  // 150-segment round, then 10 segments streamed) takes one round trip more than with a queue that
  // absorbs the burst, the retransmission's (RFC 6675).
  const double rtt = 0.100, rate = 12.5e6;
  const auto time_with_queue = [&](double queue, int& losses) {
    TcpParams params;
    params.hystart = false;
    params.queue_packets = queue;
    ConnectionState state;
    state.opened = true;
    state.cwnd = 150;
    const double duration = send_message(state, params, wan(), 160 * kMss, 0).duration;
    losses = state.losses;
    return duration;
  };
  int lossy_events = 0, clean_events = 0;
  const double lossy = time_with_queue(100, lossy_events);
  const double clean = time_with_queue(150, clean_events);
  EXPECT_EQ(lossy_events, 1);
  EXPECT_EQ(clean_events, 0);
  EXPECT_NEAR(clean, 0.050 + rtt + 10 * kMss / rate, 1e-12);
  EXPECT_NEAR(lossy - clean, rtt, 1e-12);
  // A window beyond path + queue while streaming: each overflow is a loss event of one round trip.
  TcpParams params;
  params.queue_packets = 50;
  ConnectionState state;
  state.opened = true;
  state.cwnd = 1000;  // the path holds 863 segments: no window rounds, the message streams
  state.ssthresh = 1000;
  const auto t = send_message(state, params, wan(), 40e6, 0);
  EXPECT_EQ(t.window_rounds, 0);
  EXPECT_GE(state.losses, 1);
  EXPECT_NEAR(t.extra_latency, state.losses * rtt, 1e-9);
}

TEST(TcpModel, ALossBelowTheRememberedWindowConvergesFaster) {
  // CUBIC's fast convergence: a loss below the window it remembered remembers (1 + beta) / 2 of it.
  const auto state = slow_start_burst(150, 100, 400);
  EXPECT_DOUBLE_EQ(state.cubic_origin, 300 * (1 + TcpParams{}.cubic_beta) / 2);
}

TEST(TcpModel, HystartEndsSlowStartOncePerConnection) {
  // tcp_cubic.c keeps HyStart's `found` until a timeout: the slow start after an idle restart runs
  // on to ssthresh (three quarters of the window before the idle), past the path.
  const TcpParams params;
  ConnectionState first;
  send_message(first, params, wan(), 8e6, 0);
  EXPECT_TRUE(first.hystart_found);
  ConnectionState restarted;  // a connection whose HyStart has fired, idle for 10 s
  restarted.opened = true;
  restarted.cwnd = 2000;
  restarted.ssthresh = 2000;
  restarted.rttvar = params.rto_min;
  restarted.hystart_found = true;
  send_message(restarted, params, wan(), 4e6, 10);
  EXPECT_DOUBLE_EQ(restarted.ssthresh, 2000);
  ConnectionState fresh;  // the same slow start with HyStart armed leaves it near the path
  send_message(fresh, params, wan(), 4e6, 0);
  const double pipe = 12.5e6 * 0.100 / kMss;
  EXPECT_DOUBLE_EQ(fresh.ssthresh, 640 + pipe / 2);  // the ACK train of the 640-segment window
}

TEST(TcpModel, TheSrttKeepsTheQueueOfTheLastBurstUntilLaterAcksDecayIt) {
  // Windows 10 ... 320 (630 segments) each take a round trip; the 320-segment burst queued up to
  // 320 packets, and the one segment after it moves srtt only 1/8 per delayed ACK back (RFC 6298).
  const double rtt = 0.100, rate = 12.5e6;
  ConnectionState short_rest;
  send_message(short_rest, TcpParams{}, wan(), 631 * kMss, 0);
  EXPECT_NEAR(short_rest.srtt, rtt + 320 * std::pow(7.0 / 8.0, 0.5) * kMss / rate, 1e-12);
  // A long rest decays it away: what is left is the standing queue of the window beyond the path
  // (HyStart left slow start at 640 + 863 / 2 segments; 1730 segments stream after the 640 round).
  ConnectionState long_rest;
  send_message(long_rest, TcpParams{}, wan(), 3000 * kMss, 0);
  const double pipe = rate * rtt / kMss;
  EXPECT_NEAR(long_rest.srtt, rtt + (640 + pipe / 2 - pipe) * kMss / rate, 1e-9);
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
  EXPECT_NE(broken([](TcpParams& p) { p.rcv_buffer_share = 0; }), "");
  EXPECT_NE(broken([](TcpParams& p) { p.rcv_buffer_share = 1.5; }), "");
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

namespace {

// A profile whose <tcp> element (on line 3) has `attributes`; returns the load error ("" if none).
std::string tcp_profile_error(const TempDir& dir, const std::string& attributes) {
  const auto file = dir / "p.xml";
  write_text(file, "<network-profile model=\"CM02\">\n  <description>test</description>\n  <tcp " + attributes +
                       "/>\n</network-profile>\n");
  try {
    dmlsim::load_network_profile(file);
  } catch (const dmlsim::ScenarioError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TcpProfile, ReadsPhysicalParametersWithUnits) {
  TempDir dir;
  write_text(dir / "p.xml", R"(<network-profile name="t" model="CM02"><description>d</description>
  <tcp mss="1400B" header="40B" initial-window="4" cubic-c="0.5" cubic-beta="0.8" rto-min="1s" rmem-max="1MiB"
       rcv-buffer-share="0.75" wmem-max="256KiB" slow-start-after-idle="off" hystart="off" queue="100"/></network-profile>)");
  const auto p = dmlsim::load_network_profile(dir / "p.xml");
  ASSERT_TRUE(p.tcp);
  EXPECT_EQ(p.tcp->mss, 1400);
  EXPECT_EQ(p.tcp->header, 40);
  EXPECT_EQ(p.tcp->initial_window, 4);
  EXPECT_EQ(p.tcp->cubic_c, 0.5);
  EXPECT_EQ(p.tcp->cubic_beta, 0.8);
  EXPECT_EQ(p.tcp->rto_min, 1);
  EXPECT_EQ(p.tcp->rmem_max, 1048576);
  EXPECT_EQ(p.tcp->wmem_max, 262144);
  EXPECT_EQ(p.tcp->rcv_buffer_share, 0.75);
  EXPECT_FALSE(p.tcp->slow_start_after_idle);
  EXPECT_FALSE(p.tcp->hystart);
  EXPECT_EQ(p.tcp->queue_packets, 100);
  const auto shipped = dmlsim::load_network_profile(dmlsim::find_network_profile("linux-tcp", "."));
  ASSERT_TRUE(shipped.tcp);
  EXPECT_TRUE(shipped.factors.empty());
}

TEST(TcpProfile, ImpossibleParametersNameFileAndLine) {
  TempDir dir;
  const std::string where = (dir / "p.xml").string() + ":3: ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"(initial-window="0.5")", "at least 1 segment"},
      {R"(mss="8000B" rmem-max="8KiB")", "window of less than 1 MSS"},
      {R"(rto-min="-200ms")", "RTO must not be negative"},
      {R"(rmem-max="2KiB")", "at least 4 KiB"},
      {R"(wmem-max="4000B")", "at least 4 KiB"},
      {R"(rto-min="200")", "needs a time unit"},
      {R"(rmem-max="6291456")", "needs a size unit"},
      {R"(mss="1448")", "needs a size unit"},
      {R"(cubic-beta="1.5")", "beta must be between 0 and 1"},
      {R"(queue="-1")", "queue must not be negative"},
      {R"(rcv-buffer-share="0")", "share of the receive buffer must be in (0, 1]"},
      {R"(slow-start-after-idle="maybe")", "is not one of"},
      {R"(window="10")", "unknown attribute"},
  };
  for (const auto& [attributes, message] : cases) {
    const auto error = tcp_profile_error(dir, attributes);
    EXPECT_EQ(error.rfind(where, 0), 0u) << attributes << ": " << error;
    EXPECT_NE(error.find(message), std::string::npos) << attributes << ": " << error;
  }
  EXPECT_EQ(tcp_profile_error(dir, ""), "");
}

TEST(TcpProfile, CombinationsTheModelCannotHonourAreRefused) {
  TempDir dir;
  const auto error = [&](const std::string& body, const std::string& model = "CM02") {
    write_text(dir / "p.xml", "<network-profile model=\"" + model + "\">" + body + "</network-profile>");
    try {
      dmlsim::load_network_profile(dir / "p.xml");
    } catch (const dmlsim::ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error("<tcp/>", "LV08").find("<tcp> needs model=\"CM02\""), std::string::npos);
  EXPECT_NE(error(R"(<tcp/><factors latency="1ms" lat-factor="0:1" bw-factor="0:1"/>)").find("cannot be combined"),
            std::string::npos);
  EXPECT_NE(error(R"(<tcp/><config name="network/TCP-gamma" value="4194304"/>)").find("cannot be combined with <tcp>"),
            std::string::npos);
  EXPECT_NE(error("<tcp/><tcp/>").find("at most one <tcp>"), std::string::npos);
}

TEST(TcpProfile, CommandLineRefusesABadProfileWithExitTwo) {
  TempDir dir;
  tcp_profile_error(dir, R"(rto-min="-1s")");
  const auto r = run_dmlsim("calibrate simulate --profile " + (dir / "p.xml").string() + " --latency 10ms --bandwidth 100Mbps");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("p.xml:3:"), std::string::npos) << r.out;
}

TEST(CalibrateSimulate, FlowsWarmupAndRoundsFollowTheMeasurementContract) {
  TempDir dir;
  const auto json_file = dir / "sim.json";
  const auto r = run_dmlsim("calibrate simulate --profile linux-tcp --latency 25ms --bandwidth 100Mbps --sizes 1MiB,4KiB "
                            "--flows 4 --warmup 3 --rounds 5 --json " + json_file.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(read_text(json_file));
  EXPECT_EQ(j["flows"], 4);
  ASSERT_EQ(j["median"].size(), 2u);
  const auto& cell = j["cells"][0];
  ASSERT_EQ(cell["warmup_rounds"].size(), 3u);
  ASSERT_EQ(cell["rounds"].size(), 5u);
  double previous_end = 0;
  for (const auto& round : cell["rounds"]) {
    ASSERT_EQ(round["finish"].size(), 4u);
    double slowest = 0;
    for (const auto& f : round["finish"]) slowest = std::max(slowest, f.get<double>());
    EXPECT_EQ(round["time"].get<double>(), slowest);  // the slowest flow sets the round
    EXPECT_GE(round["start"].get<double>(), previous_end - 1e-9);
    previous_end = round["start"].get<double>() + slowest;
  }
  // Four flows of 1 MiB share 100 Mbit/s both ways: no faster than moving the 4 MiB each way.
  EXPECT_GT(j["median"][0].get<double>(), 0.010 + 2 * (0.025 + 4 * 1048576 / 12.5e6));
  // The same command again writes the same bytes.
  const auto again = dir / "again.json";
  ASSERT_EQ(run_dmlsim("calibrate simulate --profile linux-tcp --latency 25ms --bandwidth 100Mbps --sizes 1MiB,4KiB "
                       "--flows 4 --warmup 3 --rounds 5 --json " + again.string()).exit_code, 0);
  EXPECT_EQ(read_text(again), read_text(json_file));
}

TEST(CalibrateSimulate, OneFlowOneRoundKeepsTheOldOutput) {
  const auto r = run_dmlsim("calibrate simulate --profile cm02 --latency 10ms --bandwidth 100MBps --sizes 1MB");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("1000000 0.050000000"), std::string::npos) << r.out;  // 10 ms + 10 ms gap + 2 x (10 ms + 10 ms)
}

TEST(TcpModel, TheLastPartialWindowGrowsTheWindowWithThePreviousOne) {
  // 64 KiB (46 segments, the last short) on a 200 ms link: windows 10 and 20, then 16 segments sent
  // while the 20 are acknowledged; the window ends at 56, enough for the next message in one flight.
  ConnectionState state;
  const TcpPath path{0.200, 12.5e6, 1};
  const double bytes = 65536;
  EXPECT_EQ(send_message(state, TcpParams{}, path, bytes, 0).window_rounds, 2);
  EXPECT_NEAR(state.cwnd, 40 + (std::ceil(bytes / kMss) - 30), 1e-9);
  EXPECT_EQ(send_message(state, TcpParams{}, path, bytes, state.last_send + 0.5).window_rounds, 0);
}

TEST(TcpModel, TheRtoStartsAtTheHandshakesVariationAndDecays) {
  // rttvar starts at twice the RTT (0.8 s) and loses a quarter of its excess over 200 ms per
  // round trip of data: after three, the RTO is 0.4 + 0.2 + 0.6 x 0.75^3 = 0.853 s.
  const TcpParams params;
  const TcpPath path{0.200, 12.5e6, 1};
  ConnectionState state;
  send_message(state, params, path, 65536, 0);
  EXPECT_NEAR(state.rttvar, 0.2 + 0.6 * std::pow(0.75, 3), 1e-12);
  ConnectionState below = state, above = state;
  const double cwnd = state.cwnd;
  send_message(below, params, path, 1, state.last_send + 0.84);
  send_message(above, params, path, 1, state.last_send + 0.87);
  EXPECT_EQ(below.cwnd, cwnd);
  EXPECT_LT(above.cwnd, cwnd);
}
