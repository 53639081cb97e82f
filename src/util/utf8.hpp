// UTF-8 validation. Names and values read from input files end up in JSON outputs, which must be
// valid UTF-8: a stray Latin-1 byte is reported where it was read, before anything runs.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace dmlsim {

// The offset of the first byte that does not start or continue a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF are ill-formed), or nothing.
std::optional<std::size_t> first_invalid_utf8(std::string_view text);

// The length of the well-formed UTF-8 sequence that starts at byte `at` of `text` (1 for ASCII),
// or 0 when none starts there.
std::size_t utf8_sequence_length(std::string_view text, std::size_t at);

}  // namespace dmlsim
