// SPDX-License-Identifier: MIT
#include "trust.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

namespace spmi {

std::optional<std::string>
distrust_code(const std::filesystem::path& path, const char* what)
{
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fmt::format("cannot stat {} {}", what, path.string());
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return fmt::format("{} {} is owned by uid {}, not by you or root; refusing to load code from it", what,
                       path.string(), st.st_uid);
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return fmt::format("{} {} is writable by other users; refusing to load code from it (chmod go-w {})", what,
                       path.string(), path.string());
  }
  return std::nullopt;
}

} // namespace spmi
