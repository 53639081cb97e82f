#include "world/background.hpp"

#include "sim/comm_waits.hpp"
#include "util/rng.hpp"
#include "util/quote.hpp"

#include <cmath>
#include <fmt/format.h>
#include <simgrid/Exception.hpp>
#include <simgrid/s4u/Actor.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Mailbox.hpp>
#include <xbt/config.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

// A flow is a back-to-back sequence of transfers of this size: long enough that the gaps between
// them (one latency each) are small, finite so that a network model that follows a transfer
// through its TCP windows (linux-tcp) has a bounded message to simulate.
constexpr std::uint64_t kChunkBytes = std::uint64_t{64} << 20;
// A transfer that fails (a link on the flow's route, or its receiver's host, went down) is tried
// again after this pause, as another job's connection would reconnect; the pause keeps a flow
// whose route stays down from retrying at one instant forever.
constexpr double kRetryAfterFailure = 1.0;

// The receiving end of a flow: takes whatever arrives, including transfers cut by an off period.
class FlowSink {
 public:
  explicit FlowSink(sg4::Mailbox* mailbox) : mailbox_(mailbox) {}
  void operator()() {
    for (;;) {
      try {
        receive<int>(mailbox_);
      } catch (const simgrid::Exception&) {
      }
    }
  }

 private:
  sg4::Mailbox* mailbox_;
};

class FlowSource {
 public:
  FlowSource(PlacedFlow flow, sg4::Mailbox* mailbox, std::uint64_t key)
      : flow_(std::move(flow)), mailbox_(mailbox), rng_(key) {}

  void operator()() {
    for (;;) {
      try {
        send_one();
      } catch (const simgrid::NetworkFailureException&) {
        sg4::this_actor::sleep_for(kRetryAfterFailure);
      }
    }
  }

 private:
  // One transfer (an always-on flow), or one on period and the off period after it.
  void send_one() {
    static int payload = 0;  // nothing travels but the simulated size
    // A mailbox transfer, not sendto: only a communication not started yet takes a rate cap.
    auto comm = mailbox_->put_init(&payload, kChunkBytes);
    if (flow_.spec.rate) comm->set_rate(*flow_.spec.rate);
    comm->start();
    if (!flow_.spec.on) {
      await_comm(comm);
      return;
    }
    await_comm_for(comm, exponential(*flow_.spec.on));  // cut at the end of the on period
    sg4::this_actor::sleep_for(exponential(*flow_.spec.off));
  }

  double exponential(double mean) { return -mean * std::log1p(-rng_.uniform()); }

  PlacedFlow flow_;
  sg4::Mailbox* mailbox_;
  Rng rng_;
};

}  // namespace

std::vector<PlacedFlow> place_background(const Scenario& s) {
  const auto& engine = *sg4::Engine::get_instance();
  std::vector<PlacedFlow> placed;
  for (const auto& flow : s.background.flows) {
    PlacedFlow p{flow, engine.host_by_name_or_null(flow.from), engine.host_by_name_or_null(flow.to)};
    for (const auto& [host, name, attribute] : {std::tuple{p.from, flow.from, "from"}, std::tuple{p.to, flow.to, "to"}})
      if (!host)
        throw ScenarioError(s.file.string(), flow.line,
                            fmt::format("<flow> attribute {}: host {} is not in platform {}", quote_input(attribute), quote_input(name),
                                        s.platform.file.string()));
    // CM02 bounds a flow by min(rate, TCP-gamma / (2 latency)), and with the window cap lifted
    // (TCP-gamma 0, as the shipped profiles set) that bound is dropped, rate included.
    if (flow.rate && simgrid::config::get_value<double>("network/TCP-gamma") <= 0)
      throw ScenarioError(s.file.string(), flow.line,
                          "<flow> attribute 'rate': SimGrid ignores a rate cap when network/TCP-gamma is 0 (as the shipped "
                          "profiles set it); give the network a finite window, e.g. <config name=\"network/TCP-gamma\" "
                          "value=\"1e12\"/>");
    placed.push_back(p);
  }
  return placed;
}

void start_background(const std::vector<PlacedFlow>& flows, std::uint64_t seed) {
  for (std::size_t i = 0; i < flows.size(); ++i) {
    const auto name = fmt::format("background-{}", i);
    auto* mailbox = sg4::Mailbox::by_name(name);
    // Daemons that come back with their host (auto-restart keeps what they were when it is set).
    sg4::Actor::create(name + "-sink", flows[i].to, FlowSink(mailbox))->daemonize()->set_auto_restart();
    sg4::Actor::create(name, flows[i].from, FlowSource(flows[i], mailbox, derive_key(seed, Stream::Background, {i})))
        ->daemonize()
        ->set_auto_restart();
  }
}

}  // namespace dmlsim
