// Typed, validating access to the attributes of one XML element. Every error names the scenario
// file and the element's line (or the command-line override that supplied the value) and is
// thrown as ScenarioError. `finish()` rejects attributes nobody asked for.
#pragma once

#include "scenario/scenario.hpp"

#include <pugixml.hpp>
#include <set>
#include <string>
#include <vector>

namespace dmlsim {

// Maps byte offsets of the parsed buffer to 1-based line numbers.
class LineIndex {
 public:
  explicit LineIndex(const std::string& text);
  int line_of(std::ptrdiff_t offset) const;

 private:
  std::vector<std::ptrdiff_t> line_starts_;
};

// Throws ScenarioError at the first byte of `text` that is not UTF-8.
void check_utf8(const std::string& text, const std::string& file, const LineIndex& lines);

// Throws ScenarioError at the first child element of `node` (elements that take none).
void reject_child_elements(pugi::xml_node node, const std::string& file, const LineIndex& lines);

class ElementReader {
 public:
  // `overridden` holds "element.attribute" keys whose values came from the command line.
  ElementReader(pugi::xml_node node, const std::string& file, const LineIndex& lines,
                const std::set<std::string>& overridden);

  int line() const { return line_; }
  bool has(const char* name) const;
  // Whether the value of `name` came from the command line (--set ELEMENT.name=…).
  bool overridden(const char* name) const;
  std::string text(const char* name, const std::string& fallback);
  std::string required_text(const char* name);
  double number(const char* name, double fallback, double min, double max);
  std::optional<double> optional_number(const char* name, double min, double max);
  int integer(const char* name, int fallback, int min, int max);
  bool boolean(const char* name, bool fallback);
  std::optional<double> optional_time(const char* name);
  std::optional<double> optional_bandwidth(const char* name);
  // One of `choices`.
  std::string choice(const char* name, const std::string& fallback, const std::vector<std::string>& choices);
  std::filesystem::path existing_file(const char* name, const std::filesystem::path& base_dir);
  // Throws for any attribute that was not read.
  void finish();
  // Attributes that are present but were not read (for "ignored by this algorithm" notes).
  std::vector<std::string> unread() const;
  [[noreturn]] void fail(const char* attribute, const std::string& message) const;
  [[noreturn]] void fail(const std::string& message) const;

 private:
  const char* raw(const char* name);
  pugi::xml_node node_;
  std::string file_;
  int line_;
  const std::set<std::string>& overridden_;
  std::set<std::string> read_;
};

}  // namespace dmlsim
