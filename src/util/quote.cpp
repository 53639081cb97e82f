#include "util/quote.hpp"

#include "util/utf8.hpp"

#include <cstdint>
#include <fmt/format.h>

namespace dmlsim {

namespace {

// The code point of the well-formed UTF-8 sequence of `length` bytes at the start of `text`.
char32_t code_point(std::string_view text, std::size_t length) {
  static constexpr unsigned char kLeadBits[] = {0x7f, 0x7f, 0x1f, 0x0f, 0x07};
  char32_t cp = static_cast<unsigned char>(text[0]) & kLeadBits[length];
  for (std::size_t k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[k]) & 0x3f);
  return cp;
}

// Controls (C0, DEL, C1), line and paragraph separators, and invisible format characters that can
// disguise a message: bidirectional embeddings, overrides and isolates (U+202A-U+202E,
// U+2066-U+2069) reorder the text after them on screen, and zero-width characters, marks, the
// soft hyphen and the byte order mark hide or join what is there.
bool disguising(char32_t cp) {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return true;
  if (cp == 0xad || cp == 0x61c || cp == 0x180e || cp == 0xfeff) return true;
  if (cp >= 0x200b && cp <= 0x200f) return true;  // zero-width space, non-joiner, joiner; LRM, RLM
  if (cp >= 0x2028 && cp <= 0x202e) return true;  // line and paragraph separators; bidi embeddings, overrides
  if (cp >= 0x2060 && cp <= 0x206f) return true;  // word joiner, invisible operators, bidi isolates, deprecated
  if (cp >= 0xfff9 && cp <= 0xfffb) return true;  // interlinear annotation
  return cp >= 0xe0000 && cp <= 0xe007f;          // tags
}

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
    const char32_t cp = code_point(text.substr(i), length);
    if (c < 0x20 || c == 0x7f) out += escaped_control(c);
    else if (disguising(cp)) out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(cp));
    else out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

std::string quote_input(std::string_view text) { return "'" + printable(text) + "'"; }

}  // namespace dmlsim
