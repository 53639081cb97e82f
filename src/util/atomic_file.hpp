// Result files are written whole or not at all: content goes to a temporary file in the same
// directory, which is then renamed over the target (rename is atomic on POSIX file systems).
#pragma once

#include <filesystem>
#include <string>

namespace dmlsim {

// Writes `content` to `path` atomically; creates parent directories. Throws std::runtime_error.
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

// Reads a whole file; throws std::runtime_error naming the file if it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace dmlsim
