// SPDX-License-Identifier: MIT
#include "start_failure.hpp"

#include "secure_dir.hpp"

#include <spmi/errors.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace spmi {

namespace {

constexpr const char* k_log = "wrapper.log";
// At most this much of what a launch wrote is read: its last lines are what is quoted.
constexpr std::uint64_t k_window = 16 * 1024;

} // namespace

std::uint64_t
wrapper_log_size(const ManageableDir& dir)
{
  struct stat st {};
  try {
    return dir.stat_file(k_log, st) && S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
  } catch (const Error&) {
    return 0;  // an insecure directory: start refuses it before anything is launched
  }
}

std::vector<std::string>
wrapper_log_since(const ManageableDir& dir, std::uint64_t offset, std::size_t most)
{
  std::vector<std::string> lines;
  try {
    UniqueFd fd(dir.open_file(k_log, O_RDONLY));
    struct stat st {};
    if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) {
      return lines;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const auto first = size < offset ? 0 : offset;
    const auto from = std::max(first, size > k_window ? size - k_window : 0);
    std::string data(static_cast<std::size_t>(size - from), '\0');
    const ssize_t n = ::pread(fd.get(), data.data(), data.size(), static_cast<off_t>(from));
    data.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    std::size_t begin = 0;
    while (begin < data.size()) {
      const auto end = std::min(data.find('\n', begin), data.size());
      // A cut first line (the window started inside it) and blank lines say nothing.
      if (end > begin && !(begin == 0 && from > first)) {
        lines.push_back(data.substr(begin, end - begin));
      }
      begin = end + 1;
    }
  } catch (const Error&) {
    return {};  // not a regular file of the user's: nothing of it is quoted
  }
  if (lines.size() > most) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(most));
  }
  return lines;
}

std::string
start_failure(const ManageableDir& dir, std::uint64_t offset, const std::string& what)
{
  const auto lines = wrapper_log_since(dir, offset, k_quoted_log_lines);
  if (lines.empty()) {
    return fmt::format("manageable '{}': {}, and nothing was logged about it", dir.id(), what);
  }
  std::string message = fmt::format("manageable '{}': {}; {} says:", dir.id(), what, dir.wrapper_log_path().string());
  for (const auto& line : lines) {
    message += "\n  " + line;
  }
  return message;
}

} // namespace spmi
