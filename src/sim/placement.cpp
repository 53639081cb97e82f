#include "sim/placement.hpp"

#include "util/quote.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fnmatch.h>
#include <iostream>
#include <map>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/NetZone.hpp>

namespace dmlsim {

namespace sg4 = simgrid::s4u;

namespace {

std::vector<sg4::Host*> sorted_hosts(std::vector<sg4::Host*> hosts, const sg4::Host* exclude) {
  hosts.erase(std::remove(hosts.begin(), hosts.end(), exclude), hosts.end());
  std::sort(hosts.begin(), hosts.end(),
            [](const sg4::Host* a, const sg4::Host* b) { return natural_less(a->get_name(), b->get_name()); });
  return hosts;
}

// Hosts grouped by the root zone's children (datacenters); a flat platform is one group.
std::vector<std::vector<sg4::Host*>> hosts_by_zone(const sg4::Host* server) {
  const auto& engine = *sg4::Engine::get_instance();
  std::vector<std::vector<sg4::Host*>> zones;
  for (auto* zone : engine.get_netzone_root()->get_children()) {
    auto hosts = sorted_hosts(zone->get_all_hosts(), server);
    if (!hosts.empty()) zones.push_back(std::move(hosts));
  }
  if (zones.empty()) zones.push_back(sorted_hosts(engine.get_all_hosts(), server));
  return zones;
}

// Index of the root zone's child that holds `host` (0 on a platform without child zones).
int zone_index(const sg4::Host* host) {
  const auto* root = sg4::Engine::get_instance()->get_netzone_root();
  const auto children = root->get_children();
  const auto* zone = host->get_englobing_zone();
  while (zone && zone != root && zone->get_parent() != root) zone = zone->get_parent();  // the root has no parent
  const auto it = std::find(children.begin(), children.end(), zone);
  return it == children.end() ? 0 : static_cast<int>(it - children.begin());
}

[[noreturn]] void fail(const Scenario& s, int line, const std::string& message) {
  throw ScenarioError(s.file.string(), line, message);
}

// "(its 72 hosts: node-0, node-1, node-2, …, node-71)": enough for the user to see the naming.
std::string valid_hosts() {
  const auto hosts = sorted_hosts(sg4::Engine::get_instance()->get_all_hosts(), nullptr);
  std::string list;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (i == 3 && hosts.size() > 4) {
      list += ", …";
      i = hosts.size() - 1;
    }
    list += (list.empty() ? "" : ", ") + hosts[i]->get_name();
  }
  return fmt::format(" (its {} hosts: {})", hosts.size(), list);
}

// Zones round-robin can stack workers on the few hosts of a small zone while other hosts idle.
void warn_if_hosts_shared_while_others_idle(const Placed& placed, const Scenario& s) {
  std::map<const sg4::Host*, int> load;
  for (const auto* host : placed.workers) ++load[host];
  const auto total = sg4::Engine::get_instance()->get_host_count() - 1;  // without the server's
  const auto shared = std::count_if(load.begin(), load.end(), [](const auto& entry) { return entry.second > 1; });
  if (shared > 0 && load.size() < total)
    std::cerr << fmt::format("{}:{}: warning: placement=\"zones\" puts several workers on {} host(s) while {} host(s) "
                             "have none (workers go round-robin over the datacenters first); use placement=\"pattern\" "
                             "or \"hosts\" to spread them\n",
                             s.file.string(), s.workers.line, shared, total - load.size());
}

}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
  auto split = [](const std::string& s) {
    const auto pos = s.find_last_not_of("0123456789");
    const auto cut = pos == std::string::npos ? 0 : pos + 1;
    const std::string digits = s.substr(cut);
    return std::make_pair(s.substr(0, cut), digits.empty() || digits.size() > 18 ? -1LL : std::stoll(digits));
  };
  const auto [pa, na] = split(a);
  const auto [pb, nb] = split(b);
  if (pa != pb) return pa < pb;
  if (na != nb) return na < nb;
  return a < b;
}

Placed place_actors(const Scenario& s) {
  const auto& engine = *sg4::Engine::get_instance();
  const auto platform = s.platform.file.string();
  Placed placed;
  if (!s.server.host.empty()) placed.server = engine.host_by_name_or_null(s.server.host);
  if (!s.server.host.empty() && !placed.server)
    fail(s, s.server.line, fmt::format("<server> attribute 'host': host {} is not in platform {}{}", quote_input(s.server.host),
                                       platform, valid_hosts()));

  const auto& w = s.workers;
  switch (w.placement) {
    case Placement::Hosts:
      for (const auto& name : w.hosts) {
        auto* host = engine.host_by_name_or_null(name);
        if (!host)
          fail(s, w.line, fmt::format("<workers> attribute 'hosts': host {} is not in platform {}{}", quote_input(name), platform,
                                      valid_hosts()));
        placed.workers.push_back(host);
      }
      break;
    case Placement::Pattern: {
      auto hosts = engine.get_filtered_hosts(
          [&](sg4::Host* h) { return fnmatch(w.pattern.c_str(), h->get_cname(), 0) == 0; });
      // The server's host is left to the server unless it is the only match.
      auto candidates = sorted_hosts(hosts, placed.server);
      if (candidates.empty()) candidates = sorted_hosts(hosts, nullptr);
      if (candidates.empty())
        fail(s, w.line, fmt::format("<workers> attribute 'pattern': {} matches no host in platform {}", quote_input(w.pattern), platform));
      for (int k = 0; k < w.count; ++k) placed.workers.push_back(candidates[static_cast<std::size_t>(k) % candidates.size()]);
      break;
    }
    case Placement::Zones: {
      const auto zones = hosts_by_zone(placed.server);
      if (zones.front().empty()) fail(s, w.line, fmt::format("platform {} has no host besides the server's", platform));
      for (int k = 0; k < w.count; ++k) {
        const auto& zone = zones[static_cast<std::size_t>(k) % zones.size()];
        placed.workers.push_back(zone[(static_cast<std::size_t>(k) / zones.size()) % zone.size()]);
      }
      warn_if_hosts_shared_while_others_idle(placed, s);
      break;
    }
  }
  placed.platform_has_zones = !engine.get_netzone_root()->get_children().empty();
  if (placed.server) placed.server_zone = zone_index(placed.server);
  for (const auto* host : placed.workers) placed.worker_zones.push_back(zone_index(host));
  return placed;
}

std::vector<std::string> apply_link_overrides(const Scenario& s) {
  const auto& engine = *sg4::Engine::get_instance();
  std::vector<std::string> applied;
  for (const auto& o : s.platform.links) {
    const auto links =
        engine.get_filtered_links([&](sg4::Link* l) { return fnmatch(o.pattern.c_str(), l->get_cname(), 0) == 0; });
    if (links.empty() && !o.command_line.empty())
      throw ScenarioError("command line", 0, fmt::format("--link {}: {} matches no link in platform {}", o.command_line,
                                                         quote_input(o.pattern), s.platform.file.string()));
    if (links.empty())
      fail(s, o.line, fmt::format("<link> attribute 'pattern': {} matches no link in platform {}", quote_input(o.pattern),
                                  s.platform.file.string()));
    for (auto* link : links) {
      if (o.latency) link->set_latency(*o.latency);
      if (o.bandwidth) link->set_bandwidth(*o.bandwidth);
    }
    applied.push_back(fmt::format("{} ({} links):{}{}", o.pattern, links.size(),
                                  o.latency ? fmt::format(" latency {} s", *o.latency) : "",
                                  o.bandwidth ? fmt::format(" bandwidth {} B/s", *o.bandwidth) : ""));
  }
  return applied;
}

}  // namespace dmlsim
