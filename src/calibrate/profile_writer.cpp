#include "calibrate/profile_writer.hpp"

#include "util/atomic_file.hpp"

#include <ctime>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <sys/utsname.h>
#include <thread>

namespace dmlsim::calibrate {

namespace {

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// XML comments must not contain "--".
std::string comment_safe(std::string text) {
  for (std::size_t at = text.find("--"); at != std::string::npos; at = text.find("--")) text.replace(at, 2, "- -");
  return text;
}

const char* const kFitMethod =
    "one size bucket per measured size. One latency: bw-factor 1 and least-squares lat-factors, no window cap. "
    "Several latencies: plain CM02 with the TCP-gamma (window cap) that fits all rounds best (least squares of log "
    "ratios), then one row per latency reproducing its rounds, the factor of each round's larger term (latency or "
    "transfer) absorbing the difference; no bw-factor above 1. Between rows the factors are interpolated linearly in "
    "the route latency; outside, the nearest row applies. "
    "Round = gap + 2 (L lat-factor(S, L) + S / (bw-factor(S, L) min(B, TCP-gamma / 2L))).";

}  // namespace

std::string profile_xml(const ProfileText& text, const Factors& factors, const Measurements& m,
                        const std::vector<double>& simulated) {
  std::string out = "<?xml version=\"1.0\"?>\n";
  out += fmt::format("<!-- {}\n     Measured {} on {}.\n     Method: {}\n     Fit: {} -->\n", comment_safe(text.comment),
                     m.date, comment_safe(m.machine), comment_safe(m.method), comment_safe(kFitMethod));
  out += fmt::format("<network-profile name=\"{}\" model=\"CM02\">\n", xml_escape(text.name));
  out += fmt::format("  <description>{}</description>\n", xml_escape(text.description));
  out += fmt::format("  <config name=\"network/TCP-gamma\" value=\"{:.0f}\"/>\n", factors.window);
  for (const auto& row : factors.rows)
    out += fmt::format("  <factors latency=\"{:.6g}ms\" lat-factor=\"{}\" bw-factor=\"{}\"/>\n", row.latency * 1e3,
                       to_string(row.latency_factor), to_string(row.bandwidth_factor));
  out += fmt::format("  <measurements date=\"{}\" machine=\"{}\" gap=\"{:g}ms\"\n                method=\"{}\">\n",
                     xml_escape(m.date), xml_escape(m.machine), m.gap * 1e3, xml_escape(m.method));
  for (std::size_t i = 0; i < m.observations.size(); ++i) {
    const auto& o = m.observations[i];
    const double sim = i < simulated.size() ? simulated[i] : 0;
    out += fmt::format(
        "    <round latency=\"{:.6g}ms\" bandwidth=\"{:.6g}Mbps\" bytes=\"{:.0f}\" real=\"{:.6f}\" simulated=\"{:.6f}\"/>"
        "  <!-- {:+.1f} % -->\n",
        o.latency * 1e3, o.bandwidth * 8e-6, o.bytes, o.time, sim, 100 * (sim - o.time) / o.time);
  }
  out += "  </measurements>\n</network-profile>\n";
  return out;
}

std::string measurements_json(const Measurements& m) {
  nlohmann::json j;
  j["kind"] = "dmlsim-calibration";
  j["date"] = m.date;
  j["machine"] = m.machine;
  j["method"] = m.method;
  j["gap"] = m.gap;
  j["observations"] = nlohmann::json::array();
  for (std::size_t i = 0; i < m.observations.size(); ++i) {
    const auto& o = m.observations[i];
    nlohmann::json row = {{"latency", o.latency}, {"bandwidth", o.bandwidth}, {"bytes", o.bytes}, {"time", o.time}};
    if (i < m.samples.size()) row["samples"] = m.samples[i];
    j["observations"].push_back(row);
  }
  return j.dump(2) + "\n";
}

Measurements read_measurements_json(const std::filesystem::path& file) {
  Measurements m;
  try {
    const auto j = nlohmann::json::parse(read_file(file));
    if (j.value("kind", "") != "dmlsim-calibration") throw std::invalid_argument("not a dmlsim calibration file");
    m.date = j.value("date", "");
    m.machine = j.value("machine", "");
    m.method = j.value("method", "");
    m.gap = j.at("gap").get<double>();
    for (const auto& o : j.at("observations"))
      m.observations.push_back({o.at("latency").get<double>(), o.at("bandwidth").get<double>(),
                                o.at("bytes").get<double>(), o.at("time").get<double>()});
  } catch (const std::exception& e) {
    throw std::invalid_argument(fmt::format("{}: {}", file.string(), e.what()));
  }
  for (const auto& o : m.observations)
    if (!(o.latency >= 0 && o.bandwidth > 0 && o.bytes >= 1 && o.time > m.gap))
      throw std::invalid_argument(fmt::format("{}: an observation is out of range (time must exceed the gap)", file.string()));
  return m;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
  return text;
}

std::string machine_name() {
  utsname u{};
  ::uname(&u);
  return fmt::format("{} (Linux {}, {} CPUs)", u.nodename, u.release, std::thread::hardware_concurrency());
}

}  // namespace dmlsim::calibrate
