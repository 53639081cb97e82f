// Writing what calibration found: a network profile (profiles/*.xml format, see
// scenario/network_profile.hpp) and the measurements as JSON (input of `calibrate fit`).
#pragma once

#include "calibrate/round_model.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace dmlsim::calibrate {

struct Measurements {
  std::string date;     // "2026-11-27 03:40 UTC"
  std::string machine;  // where the probe ran
  std::string method;   // how the rounds were measured
  double gap = 0.010;
  std::vector<Observation> observations;
  std::vector<std::vector<double>> samples;  // every measured round per observation (may be empty)
};

struct ProfileText {
  std::string name;
  std::string description;
  std::string comment;  // free text for the XML comment at the top
};

// The profile: CM02 model, TCP-gamma, the fitted <factors> rows, the measurements with their
// simulated times (`simulated` parallel to `m.observations`).
std::string profile_xml(const ProfileText& text, const Factors& factors, const Measurements& m,
                        const std::vector<double>& simulated);

std::string measurements_json(const Measurements& m);
// Throws std::invalid_argument naming the file on malformed content.
Measurements read_measurements_json(const std::filesystem::path& file);

std::string utc_now();      // "2026-11-27 03:40 UTC"
std::string machine_name(); // hostname, kernel, CPU count

}  // namespace dmlsim::calibrate
