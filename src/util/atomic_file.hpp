// Result files are written whole or not at all. One file: its content goes to a temporary file in
// the same directory, which is then renamed over the target (rename is atomic on POSIX file
// systems). A directory of results: its files go to a temporary sibling directory, which then
// takes the place of the old directory in one atomic exchange, so a reader sees the previous run's
// complete set or the new one, never a mixture or a stale file. Temporaries left by killed
// processes are removed by the next writer.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dmlsim {

// Writing results failed (disk full, permissions…): the message names the path and the system's
// reason ("No space left on device"). The run is then a failed run (exit 3), and nothing is left.
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes `content` to `path` atomically; creates parent directories. Throws OutputError.
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

using NamedContents = std::vector<std::pair<std::string, std::string>>;  // file name, content

// Makes `dir` hold exactly `files`, atomically (see above). An existing `dir` is replaced only if
// it is empty or holds one of `markers` (the files that show it is a result directory), so a
// mistyped --out never wipes an unrelated directory. Throws OutputError.
void write_directory_atomically(const std::filesystem::path& dir, const NamedContents& files,
                                const std::vector<std::string>& markers);

// Removes the temporary siblings of `dir` that writers which are no longer running left behind
// (write_directory_atomically does it too before it writes).
void remove_abandoned_temporaries(const std::filesystem::path& dir);

// Whether write_directory_atomically may replace `dir`: it does not exist, is empty, or holds a marker.
bool replaceable_directory(const std::filesystem::path& dir, const std::vector<std::string>& markers);

// Reads a whole file; throws std::runtime_error naming the file if it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace dmlsim
