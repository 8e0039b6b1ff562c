// SPDX-License-Identifier: MIT
// Helpers the state store's files share (state.cpp, manageable_dir.cpp, records.cpp, store_load.cpp): not installed.
#pragma once

#include <spmi/state.hpp>
#include <spmi/unique_fd.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace spmi::state_detail {

// The JSON of the state file `path`. @throws StateError naming it when it is corrupt.
nlohmann::json parse_state_file(const std::filesystem::path& path, const std::string& text);

// `j[key]`, or `fallback` when it is missing or null.
template<typename T>
T
field(const nlohmann::json& j, const char* key, T fallback)
{
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return fallback;
  }
  return it->template get<T>();
}

// Writes all of `data` to `fd` and closes it (after an fsync when `sync`). False, with errno set, when
// any of that fails (then `fd` is left for its destructor to close).
bool write_and_close(UniqueFd& fd, const std::string& data, bool sync);

// Creates the file `name` (which must not exist) in the directory `dir_fd` (named `dir`) with `data`;
// no fsync.
void write_new_file(int dir_fd, const std::filesystem::path& dir, const std::string& name, const std::string& data);

// Takes an exclusive flock on `fd` (an open `path`): waits for other holders, or with `wait` false
// returns an empty DirLock when another process holds it.
DirLock lock_open_file(UniqueFd& fd, const std::filesystem::path& path, bool wait = true);

} // namespace spmi::state_detail
