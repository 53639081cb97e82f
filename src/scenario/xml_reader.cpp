#include "scenario/xml_reader.hpp"

#include "util/units.hpp"
#include "util/utf8.hpp"
#include "util/quote.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace dmlsim {

LineIndex::LineIndex(const std::string& text) {
  line_starts_.push_back(0);
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') line_starts_.push_back(static_cast<std::ptrdiff_t>(i + 1));
}

int LineIndex::line_of(std::ptrdiff_t offset) const {
  const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  return static_cast<int>(it - line_starts_.begin());
}

void check_utf8(const std::string& text, const std::string& file, const LineIndex& lines) {
  if (const auto bad = first_invalid_utf8(text))
    throw ScenarioError(file, lines.line_of(static_cast<std::ptrdiff_t>(*bad)),
                        fmt::format("byte {:#04x} is not UTF-8 (names end up in JSON outputs: save the file as UTF-8)",
                                    static_cast<unsigned char>(text[*bad])));
}

void reject_child_elements(pugi::xml_node node, const std::string& file, const LineIndex& lines) {
  for (auto child : node.children())
    if (child.type() == pugi::node_element)
      throw ScenarioError(file, lines.line_of(child.offset_debug()),
                          fmt::format("unknown element <{}> inside <{}>", child.name(), node.name()));
}

ElementReader::ElementReader(pugi::xml_node node, const std::string& file, const LineIndex& lines,
                             const std::set<std::string>& overridden)
    : node_(node), file_(file), line_(lines.line_of(node.offset_debug())), overridden_(overridden) {}

bool ElementReader::has(const char* name) const { return !node_.attribute(name).empty(); }

bool ElementReader::overridden(const char* name) const {
  return overridden_.count(std::string(node_.name()) + "." + name) > 0;
}

const char* ElementReader::raw(const char* name) {
  read_.insert(name);
  const auto attribute = node_.attribute(name);
  return attribute.empty() ? nullptr : attribute.value();
}

void ElementReader::fail(const char* attribute, const std::string& message) const {
  const std::string origin =
      overridden(attribute) ? fmt::format(" (set on the command line: --set {}.{})", node_.name(), attribute) : "";
  throw ScenarioError(file_, line_, fmt::format("<{}> attribute {}{}: {}", printable(node_.name()), quote_input(attribute), origin, message));
}

void ElementReader::fail(const std::string& message) const {
  throw ScenarioError(file_, line_, fmt::format("<{}>: {}", printable(node_.name()), message));
}

std::string ElementReader::text(const char* name, const std::string& fallback) {
  const char* value = raw(name);
  return value ? std::string(value) : fallback;
}

std::string ElementReader::required_text(const char* name) {
  const char* value = raw(name);
  if (!value) fail(name, "is required");
  if (!*value) fail(name, "must not be empty");
  return value;
}

double ElementReader::number(const char* name, double fallback, double min, double max) {
  return optional_number(name, min, max).value_or(fallback);
}

std::optional<double> ElementReader::optional_number(const char* name, double min, double max) {
  const char* value = raw(name);
  if (!value) return std::nullopt;
  double parsed = 0;
  try {
    parsed = parse_number(value);
  } catch (const std::invalid_argument& e) {
    fail(name, e.what());
  }
  if (parsed < min || parsed > max) fail(name, fmt::format("{} is out of range [{}, {}]", printable(value), min, max));
  return parsed;
}

int ElementReader::integer(const char* name, int fallback, int min, int max) {
  const char* value = raw(name);
  if (!value) return fallback;
  long long parsed = 0;
  try {
    parsed = parse_integer(value);
  } catch (const std::invalid_argument& e) {
    fail(name, e.what());
  }
  if (parsed < min || parsed > max) fail(name, fmt::format("{} is out of range [{}, {}]", printable(value), min, max));
  return static_cast<int>(parsed);
}

bool ElementReader::boolean(const char* name, bool fallback) {
  const char* value = raw(name);
  if (!value) return fallback;
  try {
    return parse_bool(value);
  } catch (const std::invalid_argument& e) {
    fail(name, e.what());
  }
}

std::optional<double> ElementReader::optional_time(const char* name) {
  const char* value = raw(name);
  if (!value) return std::nullopt;
  double seconds = 0;
  try {
    seconds = parse_time(value);
  } catch (const std::invalid_argument& e) {
    fail(name, e.what());
  }
  if (seconds < 0) fail(name, "a time must not be negative");
  return seconds;
}

std::optional<double> ElementReader::optional_bandwidth(const char* name) {
  const char* value = raw(name);
  if (!value) return std::nullopt;
  double rate = 0;
  try {
    rate = parse_bandwidth(value);
  } catch (const std::invalid_argument& e) {
    fail(name, e.what());
  }
  if (rate <= 0) fail(name, "a bandwidth must be positive");
  return rate;
}

std::string ElementReader::choice(const char* name, const std::string& fallback,
                                  const std::vector<std::string>& choices) {
  const std::string value = text(name, fallback);
  if (std::find(choices.begin(), choices.end(), value) == choices.end())
    fail(name, fmt::format("{} is not one of: {}", quote_input(value), fmt::join(choices, ", ")));
  return value;
}

std::filesystem::path ElementReader::existing_file(const char* name, const std::filesystem::path& base_dir) {
  const std::filesystem::path relative = required_text(name);
  // A path typed on the command line (--set) is relative to the current directory, as -o is.
  const bool typed = overridden(name);
  const auto path = relative.is_absolute() || typed ? relative : (base_dir / relative).lexically_normal();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(name, fmt::format("file {} does not exist", quote_input(path.string())));
  return path;
}

std::vector<std::string> ElementReader::unread() const {
  std::vector<std::string> names;
  for (const auto& attribute : node_.attributes())
    if (!read_.count(attribute.name())) names.emplace_back(attribute.name());
  return names;
}

void ElementReader::finish() {
  const auto names = unread();
  if (!names.empty()) fail(names.front().c_str(), "unknown attribute");
}

}  // namespace dmlsim
