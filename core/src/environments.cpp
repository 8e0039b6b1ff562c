// SPDX-License-Identifier: MIT
// The environments `load` captures: each stored once in `$SPMI_PATH/.environments/<name>.json`, named by
// a hash of its content, and read back by the wrapper (the task's environment) and by `status`.
#include <spmi/errors.hpp>
#include <spmi/state.hpp>

#include "secure_dir.hpp"
#include "state_detail.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>

namespace spmi {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* k_environments = ".environments";
// Names tried for one content before giving up: the hash, then <hash>-1 ... for a collision.
constexpr int k_max_collisions = 16;

// FNV-1a, 64 bits: stable across builds and machines (std::hash is not promised to be).
std::string
content_hash(const std::string& data)
{
  std::uint64_t hash = 14695981039346656037ull;
  for (const unsigned char c : data) {
    hash = (hash ^ c) * 1099511628211ull;
  }
  return fmt::format("{:016x}", hash);
}

// True for what store_environment() names: 16 hex digits, optionally "-<n>".
bool
is_environment_name(const std::string& name)
{
  if (name.size() < 16 || name.size() > 19 ||
      !std::all_of(name.begin(), name.begin() + 16, [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
    return false;
  }
  return name.size() == 16 || (name[16] == '-' && std::all_of(name.begin() + 17, name.end(), ::isdigit) &&
                               name.size() > 17);
}

} // namespace

std::string
StateStore::store_environment(const std::vector<std::string>& variables) const
{
  ensure_root();
  const auto root = m_slot->get();
  if (::mkdirat(root->fd(), k_environments, 0700) != 0 && errno != EEXIST) {
    throw_errno("cannot create " + (m_root / k_environments).string());
  }
  const auto dir = root->open_child(k_environments);  // verified as a manageable's directory is
  if (!dir) {
    throw StateError(fmt::format("{} vanished while it was being made; try again", (m_root / k_environments).string()));
  }
  const auto data = json(variables).dump() + "\n";
  const auto hash = content_hash(data);
  for (int i = 0; i < k_max_collisions; ++i) {
    const auto name = i == 0 ? hash : fmt::format("{}-{}", hash, i);
    const auto existing = dir->read(name + ".json");
    if (existing && *existing == data) {
      return name;  // the same environment: shared
    }
    if (!existing) {
      dir->write_atomic(name + ".json", data);
      return name;
    }
  }
  throw StateError(fmt::format("{}: {} files with the hash {} and other contents; remove them",
                               (m_root / k_environments).string(), k_max_collisions, hash));
}

std::vector<std::string>
ManageableDir::read_environment(const std::string& name) const
{
  const auto path = m_path.parent_path() / k_environments / (name + ".json");
  const auto fix = fmt::format("`spmi reload {}` captures the environment again", id());
  if (!is_environment_name(name)) {
    throw StateError(fmt::format("{}: corrupt state file (environment '{}' is not a name spmi gives); {}",
                                 meta_path().string(), name, fix));
  }
  const auto root = m_slot->parent ? m_slot->parent->get() : nullptr;
  const auto dir = root ? root->open_child(k_environments) : nullptr;
  const auto text = dir ? dir->read(name + ".json") : std::nullopt;
  if (!text) {
    throw StateError(fmt::format("{}: the environment captured by `spmi load` is missing; {}", path.string(), fix));
  }
  const auto j = state_detail::parse_state_file(path, *text);
  std::vector<std::string> variables;
  if (j.is_array()) {
    for (const auto& entry : j) {
      if (!entry.is_string() || entry.get<std::string>().find('=') == std::string::npos) {
        variables.clear();
        break;
      }
      variables.push_back(entry.get<std::string>());
    }
  }
  if (variables.size() != j.size() || !j.is_array()) {
    throw StateError(fmt::format("{}: corrupt state file (not a list of NAME=value strings); {}", path.string(), fix));
  }
  return variables;
}

} // namespace spmi
