// Parsing of quantities written the way SimGrid writes them: "50ms", "1Gbps", "125MBps", "20Gf".
// Pure functions; they throw std::invalid_argument with a readable reason on bad input.
#pragma once

#include <string>

namespace dmlsim {

// Seconds. Accepts a bare number (seconds) or units: ns, us, ms, s, m, h, d, w.
double parse_time(const std::string& text);
// Bytes per second. Units: bps, kbps, Mbps, Gbps, Tbps (bits, decimal), Bps, kBps, MBps, GBps,
// TBps (bytes, decimal) and the binary forms Kibps, Mibps, Gibps, KiBps, MiBps, GiBps.
// A bare number is bytes per second, as in SimGrid.
double parse_bandwidth(const std::string& text);
// FLOP/s. Units: f, kf, Mf, Gf, Tf, Pf. A bare number is FLOP/s.
double parse_speed(const std::string& text);
// Watts. Units: mW, W, kW, MW; a unit is required.
double parse_power(const std::string& text);
// Plain floating-point number (the whole string must be consumed, finite).
double parse_number(const std::string& text);
// Non-negative integer.
long long parse_integer(const std::string& text);
// "true"/"false"/"yes"/"no"/"1"/"0".
bool parse_bool(const std::string& text);

}  // namespace dmlsim
