#include "util/quote.hpp"

#include "util/utf8.hpp"

#include <fmt/format.h>

namespace dmlsim {

namespace {

std::string escaped_control(unsigned char c) {
  switch (c) {
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: return fmt::format("\\x{:02x}", c);
  }
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto length = utf8_sequence_length(text, i);
    if (length == 0) {
      out += fmt::format("\\x{:02x}", c);
      i += 1;
      continue;
    }
    if (c < 0x20 || c == 0x7f) out += escaped_control(c);
    else if (c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0)  // U+0080..U+009F, e.g. CSI
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[i + 1]));
    else out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

std::string quote_input(std::string_view text) { return "'" + printable(text) + "'"; }

}  // namespace dmlsim
