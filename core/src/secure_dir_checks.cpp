// SPDX-License-Identifier: MIT
// The StrictModes rules of secure_dir.hpp as pure functions of a stat(): what is wrong, and the fix.
#include "secure_dir.hpp"

#include <spmi/text.hpp>

#include <fmt/format.h>

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace spmi::strict {

namespace fs = std::filesystem;

namespace {

std::string
user_name(uid_t uid)
{
  passwd entry {};
  passwd* found = nullptr;
  char buffer[1024];
  if (::getpwuid_r(uid, &entry, buffer, sizeof(buffer), &found) == 0 && found) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

// "redteam (uid 1001)"
std::string
owner_text(uid_t uid)
{
  return fmt::format("{} (uid {})", user_name(uid), uid);
}

// "group", "others" or "group and others" for the write bits of `mode`; "" when neither.
std::string
writers(mode_t mode)
{
  const bool group = (mode & S_IWGRP) != 0;
  const bool others = (mode & S_IWOTH) != 0;
  return group && others ? "group and others" : group ? "group" : others ? "others" : "";
}

// "go-w", "g-w" or "o-w": the chmod that takes those write bits away.
std::string
chmod_minus(mode_t mode)
{
  const bool group = (mode & S_IWGRP) != 0;
  const bool others = (mode & S_IWOTH) != 0;
  return group && others ? "go-w" : group ? "g-w" : "o-w";
}

std::string
type_name(mode_t mode)
{
  switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFLNK: return "a symbolic link";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    default: return "of an unknown type";
  }
}

std::string
mode_text(mode_t mode)
{
  return fmt::format("{:04o}", mode & 07777);
}

// The owner and write-permission problems of `path`, with their fix commands appended to `fixes`.
std::vector<std::string>
owner_and_mode(const fs::path& path, const struct stat& st, uid_t euid, std::vector<std::string>& fixes)
{
  std::vector<std::string> problems;
  const auto word = shell_word(path.string());
  if (st.st_uid != euid) {
    problems.push_back(fmt::format("is owned by {}, not by you ({})", owner_text(st.st_uid), user_name(euid)));
    fixes.push_back(fmt::format("chown {} {}", user_name(euid), word));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    problems.push_back(fmt::format("is writable by {} (mode {}): only its owner may write it", writers(st.st_mode),
                                   mode_text(st.st_mode)));
    fixes.push_back(fmt::format("chmod {} {}", chmod_minus(st.st_mode), word));
  }
  return problems;
}

std::string
joined(const std::vector<std::string>& parts, const char* separator)
{
  std::string result;
  for (const auto& part : parts) {
    result += (result.empty() ? "" : separator) + part;
  }
  return result;
}

} // namespace

std::string
dir_problem(const fs::path& path, const struct stat& st, uid_t euid, bool root)
{
  if (sound(st, euid, true)) {
    return "";
  }
  const auto word = shell_word(path.string());
  if (S_ISLNK(st.st_mode)) {
    return root ? fmt::format("{} is a symbolic link: spmi's state directory must be a real directory, as links in it "
                              "could be changed to point elsewhere; fix: set SPMI_PATH to the directory it points to, "
                              "or replace the link with a directory",
                              path.string())
                : fmt::format("{} is a symbolic link, not a directory spmi made: spmi never follows links in its state; "
                              "fix: rm {}, then load the manageable again",
                              path.string(), word);
  }
  if (!S_ISDIR(st.st_mode)) {
    return fmt::format("{} is {}, not a directory; fix: remove it (rm {}){}", path.string(), type_name(st.st_mode),
                       word, root ? ", or set SPMI_PATH to a directory of your own" : "");
  }
  std::vector<std::string> fixes;
  const auto problems = owner_and_mode(path, st, euid, fixes);
  if (problems.empty()) {
    return "";
  }
  const bool foreign = st.st_uid != euid;
  return fmt::format("{} {}; fix: {}{}", path.string(), joined(problems, ", and "), joined(fixes, " && "),
                     root && foreign ? ", or use a state directory of your own (SPMI_PATH)" : "");
}

std::string
ancestor_problem(const fs::path& path, const fs::path& root, const struct stat& st, uid_t euid)
{
  const auto word = shell_word(path.string());
  std::vector<std::string> problems;
  std::vector<std::string> fixes;
  if (st.st_uid != 0 && st.st_uid != euid) {
    problems.push_back(fmt::format("is owned by {}, neither root nor you ({})", owner_text(st.st_uid), user_name(euid)));
    fixes.push_back(fmt::format("chown {} {}", user_name(euid), word));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
    problems.push_back(fmt::format("is writable by {} without the sticky bit (mode {})", writers(st.st_mode),
                                   mode_text(st.st_mode)));
    fixes.push_back(fmt::format("chmod {} {}", chmod_minus(st.st_mode), word));
  }
  if (problems.empty()) {
    return "";
  }
  return fmt::format("{}, a parent directory of the state directory {}, {}: another user could swap the state "
                     "directory for one of their own; fix: {}, or use a state directory elsewhere (SPMI_PATH)",
                     path.string(), root.string(), joined(problems, ", and "), joined(fixes, " && "));
}

std::string
file_problem(const fs::path& path, const struct stat& st, uid_t euid, FileKind kind)
{
  if (sound(st, euid, false, kind)) {
    return "";
  }
  const auto word = shell_word(path.string());
  if (S_ISLNK(st.st_mode)) {
    return fmt::format("{} is a symbolic link: spmi never follows links in its state, as they could point anywhere; "
                       "fix: rm {}",
                       path.string(), word);
  }
  const bool fifo = kind == FileKind::fifo;
  if (fifo ? !S_ISFIFO(st.st_mode) : !S_ISREG(st.st_mode)) {
    return fmt::format("{} is {}, not {}; fix: rm {}{}", path.string(), type_name(st.st_mode),
                       fifo ? "a FIFO" : "a regular file", word, fifo ? " (`spmi start` makes the FIFO again)" : "");
  }
  std::vector<std::string> fixes;
  const auto problems = owner_and_mode(path, st, euid, fixes);
  if (problems.empty()) {
    return "";
  }
  return fmt::format("{} {}; fix: {} (or rm {})", path.string(), joined(problems, ", and "), joined(fixes, " && "),
                     word);
}

} // namespace spmi::strict
