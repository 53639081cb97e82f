// Parsing of quantities written the way SimGrid writes them: "50ms", "1Gbps", "125MBps", "20Gf".
// Pure functions; they throw std::invalid_argument with a readable reason on bad input.
#pragma once

#include <string>

namespace dmlsim {

// Times, rates and speeds are parsed by SimGrid's own unit parser (xbt/parse_units.hpp), so every
// unit SimGrid accepts in a platform file is accepted, with the same meaning. A unit is required:
// a bare "50" would silently mean 50 s or 50 B/s.
// Seconds: ps, ns, us, ms, s, m, h, d, w (e.g. "50ms", "5m").
double parse_time(const std::string& text);
// Bytes per second: bps, kbps … Tbps (bits), Bps, kBps … TBps (bytes), and binary forms (Kibps, MiBps…).
double parse_bandwidth(const std::string& text);
// FLOP/s: f, kf, Mf, Gf, Tf, Pf, Ef, Zf.
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
