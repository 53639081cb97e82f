// Failures mid-run: worker hosts, the server's host and links that go down (and come back) on
// SimGrid's own resource state (Host::turn_off / Link::turn_off), so the actors of a host that goes
// down are killed and the transfers in flight on a link that goes down fail, as SimGrid models them.
// Three sources, from <failures> in a scenario:
//   <host name="H" at="T"|round="R" [for="D"]/>   one host, at a time or at the start of a round
//   <link name="L" at="T"|round="R" [for="D"]/>   one link, likewise (a full-duplex link's name:
//                                                 both halves, L_UP and L_DOWN)
//   <random mtbf="T" [mttr="T"]/>                 every worker host (but the server's), failing after
//                                                 exponential times drawn from the scenario's seed
// The plan also keeps the run's failure log: every event with its simulated time, the rounds it cost
// (rounds in which a worker it cut off had no upload aggregated) and the rows it kept out of
// training, for summary.json. What the algorithms do about a failure is the topology's business
// (sim/topology/resilient_parameter_server.cpp).
#pragma once

#include "algorithms/algorithm.hpp"
#include "scenario/scenario.hpp"
#include "sim/placement.hpp"
#include "util/rng.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <simgrid/kernel/Timer.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <string>
#include <vector>

namespace dmlsim {

// One failure as it happened.
struct FailureRecord {
  std::string source;  // "host", "link" or "random"
  std::string target;  // host or link name
  int line = 0;        // scenario line of its element
  double down_at = 0;
  int round = 0;       // the round under way when it went down
  std::optional<double> up_at;
  std::vector<int> workers;  // the workers it cut off from the server
  bool server = false;       // it took the server down: the run stops
  int rounds_cost = 0;       // rounds in which one of its workers had no upload aggregated
  int last_costly_round = 0;
  std::uint64_t missed_uploads = 0;
  std::uint64_t rows_missed = 0;  // partition rows of those missed uploads, summed
};

class FailurePlan {
 public:
  // Resolves hosts and links on the loaded platform; throws ScenarioError at the element's line
  // (unknown host or link, a host that runs nothing, a link no training traffic crosses).
  // `partition_rows`: rows of each worker's partition.
  FailurePlan(const Scenario& scenario, const Placed& placed, std::vector<std::uint64_t> partition_rows);

  double timeout() const { return timeout_; }
  // Schedules the time-driven and random failures on the engine's timers (no actor: they need no
  // host that stays up).
  void start();
  // Called by the server at the start of each round: applies the failures due at that round.
  void begin_round(int round);
  // The same for a caller that may run on a host that goes down (a ring member closing a round):
  // the failures are applied at this instant by the engine, after the caller.
  void begin_round_apart(int round);
  // The run is over: no more failure or repair (pending timers would run the clock on).
  // Worker `worker` had no upload aggregated in `round` (it was down, cut off, or too late).
  void missed(int worker, int round);
  // Asynchronous runs: server update `update` was applied while worker `worker` was out of the
  // server's view (counts in the rounds_cost of the failure that cut it off; no upload is missed).
  void went_on_without(int worker, int update);
  // The uploads `round` aggregated, with their arrival times.
  void aggregated(int round, const std::vector<Arrival>& uploads);
  void set_participants(int round, int count);
  int participants(int round) const;
  // Whether a worker that is not in the server's view now may still come back: one is up and
  // reachable, or a repair is scheduled.
  bool comeback_possible() const;
  // The run cannot go on (the server's host is down, or every worker is gone for good).
  void stop(const std::string& reason) {
    fatal_ = reason;
    end();
  }
  void end();
  const std::string& fatal() const { return fatal_; }
  // How many times worker `worker`'s actor has started before (0 the first time); counts this start.
  int count_start(int worker) { return starts_[static_cast<std::size_t>(worker)]++; }

  // Whether the worker's host is up and every link between it and the server's host is up.
  bool reachable(int worker) const;
  // Server-less topologies, at the end of the run: the workers whose hosts are up but that a link
  // left out of the last round (out at the end, as a worker cut off from the server is).
  void left_out_at_end(std::vector<int> workers) { left_out_at_end_ = std::move(workers); }
  // Whether the scenario takes links down (server-less topologies then check routes between workers).
  bool plans_links() const;
  // How many link failures have happened so far (a transfer across one may have been lost).
  int link_failures() const { return link_failures_; }
  // Whether every link of the routes both ways between two hosts is up.
  static bool route_up(const simgrid::s4u::Host* a, const simgrid::s4u::Host* b);
  // summary.json's "failures" (at the end of the run): the events as they happened, then the planned
  // ones the run never reached (marked "not_reached").
  nlohmann::ordered_json summary() const;

 private:
  struct Planned {
    FailureSpec spec;
    simgrid::s4u::Host* host = nullptr;
    std::vector<simgrid::s4u::Link*> links;  // a split-duplex link's two halves
    std::vector<int> workers;
    bool server = false;
  };
  void go_down(const Planned& planned, const std::string& source);
  static nlohmann::ordered_json not_reached(const Planned& planned);
  void come_back(const Planned& planned, std::size_t record, double after);
  struct RandomHost {
    simgrid::s4u::Host* host;
    std::vector<int> workers;
    Rng rng;  // its own stream: failure and repair times
  };
  void next_random_failure(std::size_t host_index);
  // The failure that cut `worker` off since its last aggregated upload (null: none did).
  FailureRecord* cause(int worker);
  static void count_round(FailureRecord& record, int round);
  double exponential(std::size_t host_index, double mean);
  // Runs `action` at simulated time `date` (from the engine, not from an actor).
  void at(double date, std::function<void()> action);

  const Scenario& scenario_;
  const Placed& placed_;
  std::vector<std::uint64_t> partition_rows_;
  double timeout_;
  std::vector<Planned> planned_;
  std::set<const Planned*> went_down_;  // the planned failures that happened
  std::vector<RandomHost> random_;
  std::map<std::uint64_t, simgrid::kernel::timer::Timer*> timers_;  // scheduled, not yet run
  std::uint64_t next_timer_ = 0;
  std::vector<FailureRecord> records_;
  std::vector<int> participants_;        // per round (index 0: the initial model, every worker)
  std::vector<double> last_aggregated_;  // per worker: arrival of its last aggregated upload
  std::vector<std::uint64_t> missed_;    // per worker: rounds without its upload
  std::vector<int> starts_;
  std::uint64_t missed_without_failure_ = 0;
  int round_ = 0;
  int pending_repairs_ = 0;
  int link_failures_ = 0;
  std::vector<int> left_out_at_end_;
  std::string fatal_;
};

}  // namespace dmlsim
