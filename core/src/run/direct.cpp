// SPDX-License-Identifier: MIT
#include "direct.hpp"

#include "logic.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <set>
#include <system_error>

extern char** environ;

namespace spmi::wrapper {

namespace {

// dash's reserved words and builtins (and bash's, which would mean the author expected a shell): a
// command starting with one of them is the shell's to run.
constexpr std::array<std::string_view, 61> k_shell_words = {
  "!",       "{",        "}",      "case",    "do",      "done",     "elif",   "else",     "esac",   "fi",
  "for",     "if",       "in",     "then",    "until",   "while",    "[[",     "]]",       "function",
  "select",  "time",     ".",      ":",       "[",       "alias",    "bg",     "break",    "cd",     "chdir",
  "command", "continue", "echo",   "eval",    "exec",    "exit",     "export", "false",    "fc",     "fg",
  "getopts", "hash",     "jobs",   "kill",    "local",   "printf",   "pwd",    "read",     "readonly",
  "return",  "set",      "shift",  "test",    "times",   "trap",     "true",   "type",     "ulimit", "umask",
  "unalias", "unset",    "wait"};

// dash's PATH when the environment has none.
constexpr std::string_view k_default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A byte that stands for itself outside quotes: letters, digits, a few punctuation marks that no
// shell gives a meaning to, and the bytes of non-ASCII (UTF-8) text.
bool
plain(unsigned char c)
{
  return std::isalnum(c) != 0 || c >= 0x80 || std::strchr("_-./:,+@%^=", c) != nullptr;
}

bool
blank(char c)
{
  return c == ' ' || c == '\t';
}

// The value of `name` in `env` ("NAME=value" entries, the last one wins), if any.
std::optional<std::string_view>
value_of(const std::vector<std::string>& env, std::string_view name)
{
  for (auto it = env.rbegin(); it != env.rend(); ++it) {
    if (it->size() > name.size() && it->compare(0, name.size(), name) == 0 && (*it)[name.size()] == '=') {
      return std::string_view(*it).substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

// A file the kernel executes itself: an ELF binary or a "#!" script.
bool
kernel_executable(const std::filesystem::path& file)
{
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return false;
  }
  char head[4] = {};
  const ssize_t n = ::read(fd, head, sizeof(head));
  ::close(fd);
  return (n >= 2 && head[0] == '#' && head[1] == '!') || (n == 4 && std::memcmp(head, "\x7f" "ELF", 4) == 0);
}

bool
executable_file(const std::filesystem::path& file)
{
  struct stat st {};
  return ::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(file.c_str(), X_OK) == 0;
}

} // namespace

std::optional<std::vector<std::string>>
direct_words(std::string_view command)
{
  std::vector<std::string> words;
  std::size_t i = 0;
  while (true) {
    while (i < command.size() && blank(command[i])) {
      ++i;
    }
    if (i == command.size()) {
      break;
    }
    std::string word;
    while (i < command.size() && !blank(command[i])) {
      const char c = command[i];
      if (c == '\'' || c == '"') {
        const auto end = command.find(c, i + 1);
        if (end == std::string_view::npos) {
          return std::nullopt;  // unterminated: the shell says so
        }
        const auto inside = command.substr(i + 1, end - i - 1);
        if (c == '"' && inside.find_first_of("$`\\") != std::string_view::npos) {
          return std::nullopt;
        }
        word.append(inside);
        i = end + 1;
      } else if (plain(static_cast<unsigned char>(c)) && !(c == '=' && words.empty())) {
        word.push_back(c);  // '=' in the first word: an assignment (NAME=value command)
        ++i;
      } else {
        return std::nullopt;
      }
    }
    // A quoted builtin is still the shell's; an empty name is its error to report.
    if (words.empty() && (word.empty() || std::find(k_shell_words.begin(), k_shell_words.end(), word) != k_shell_words.end())) {
      return std::nullopt;
    }
    words.push_back(std::move(word));
  }
  if (words.empty()) {
    return std::nullopt;
  }
  return words;
}

std::optional<std::filesystem::path>
direct_program(const std::string& name, std::string_view path, const std::filesystem::path& cwd)
{
  std::optional<std::filesystem::path> found;
  if (name.find('/') != std::string::npos) {
    if (const auto file = cwd / name; executable_file(file)) {
      found = file;
    }
  } else {
    while (!found) {
      const auto colon = path.find(':');
      const std::string dir(path.substr(0, colon));
      if (const auto file = cwd / (dir.empty() ? std::string(".") : dir) / name; executable_file(file)) {
        found = file;
      }
      if (colon == std::string_view::npos) {
        break;
      }
      path.remove_prefix(colon + 1);
    }
  }
  if (!found || !kernel_executable(*found)) {
    return std::nullopt;
  }
  return found;
}

std::vector<std::string>
shell_environment(const std::vector<std::string>& env, const std::filesystem::path& cwd)
{
  std::vector<std::string> result;
  std::set<std::string_view> seen;  // a name given twice: the later entry wins
  for (auto it = env.rbegin(); it != env.rend(); ++it) {
    const auto equals = it->find('=');
    const auto name = std::string_view(*it).substr(0, equals);
    if (equals != std::string::npos && is_env_name(name) && name != "PWD" && seen.insert(name).second) {
      result.push_back(*it);
    }
  }
  std::reverse(result.begin(), result.end());
  // dash keeps an inherited PWD that is absolute and names the working directory (a path through a
  // symbolic link stays), else it sets the directory's real path.
  std::string pwd;
  struct stat here {};
  struct stat named {};
  if (const auto inherited = value_of(env, "PWD"); inherited && !inherited->empty() && inherited->front() == '/') {
    const std::string text(*inherited);
    if (::stat(text.c_str(), &named) == 0 && ::stat(cwd.c_str(), &here) == 0 && named.st_dev == here.st_dev &&
        named.st_ino == here.st_ino) {
      pwd = text;
    }
  }
  if (pwd.empty()) {
    std::error_code error;
    pwd = std::filesystem::canonical(cwd, error).string();
  }
  if (!pwd.empty()) {
    result.push_back("PWD=" + pwd);
  }
  return result;
}

bool
run_directly(const std::string& command, process::SpawnOptions& task)
{
  const auto words = direct_words(command);
  if (!words) {
    return false;
  }
  std::vector<std::string> env;
  if (task.env) {
    env = *task.env;
  } else {
    for (char** e = environ; *e != nullptr; ++e) {
      env.emplace_back(*e);
    }
  }
  env.insert(env.end(), task.extra_env.begin(), task.extra_env.end());  // the later entry wins
  std::error_code error;
  const auto cwd = task.cwd ? *task.cwd : std::filesystem::current_path(error);
  if (error) {
    return false;
  }
  const auto program = direct_program(words->front(), value_of(env, "PATH").value_or(k_default_path), cwd);
  if (!program) {
    return false;  // not found, not executable, or a script without "#!": the shell says or does it
  }
  task.argv = *words;
  task.program = *program;
  task.env = shell_environment(env, cwd);
  task.extra_env.clear();
  return true;
}

} // namespace spmi::wrapper
