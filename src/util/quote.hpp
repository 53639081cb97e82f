// Input text inside messages. A message is one line on a terminal, so text read from the user's
// files or command line (a name holding a newline or an ESC byte, a Latin-1 byte) is shown with
// escapes instead of being written raw: a newline would split the message, ESC would drive the
// terminal.
#pragma once

#include <string>
#include <string_view>

namespace dmlsim {

// `text` with C0 controls, DEL and C1 controls written as \n, \r, \t, \xNN or \u00NN, invisible
// format characters that can disguise a message (bidi controls, zero-width characters, line
// separators) as \uNNNN, and bytes that are not UTF-8 as \xNN; printable text (any script) is kept.
std::string printable(std::string_view text);

// printable(text) between single quotes: how a message quotes a value the user gave. (Not named
// `quoted`: for a std::string argument, std::quoted would win by argument-dependent lookup.)
std::string quote_input(std::string_view text);

}  // namespace dmlsim
