// SPDX-License-Identifier: MIT
// Helpers the Controller's files share (controller*.cpp): not installed.
#pragma once

#include <spmi/process.hpp>
#include <spmi/state.hpp>
#include <spmi/views.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace spmi::detail {

// "2.5 s", for messages.
std::string seconds_text(std::chrono::milliseconds duration);

// Which backend made `launch`: its type and recorded settings, as a key of Controller::m_backends.
std::string launch_backend_key(const LaunchRecord& launch);

// How many manageables a batch of start_all/end_all may hold: `most`, or fewer when the limit of open
// files is low (each pending one holds its lock open; half the room left is kept for everything else).
std::size_t batch_size(std::size_t most);

// Makes durable what was written unsynced in `dirs` (write_launch(..., false)): one syncfs(2) per file
// system they are on, instead of an fsync each in turn. False (errno set) when a sync failed: the caller
// then syncs each file on its own, to learn which failed.
bool sync_file_systems(const std::vector<std::filesystem::path>& dirs);

// Processes of `run` still alive although its wrapper has ended. A wrapper records an end only once
// none is left, so in the fallback only a run whose wrapper died (no end recorded, or survivors named)
// is looked at; a cgroup is looked at always (one file).
// A recorded cgroup that is not the run's own (process::trusted_cgroup()) is never looked at: `distrust`
// then says why.
std::vector<process::ProcessInfo> leftover_processes(const std::string& id, const RunRecord& run, std::string& distrust);

// "the file system holding <dir> is full (N bytes free)", for `free` from full_disk_bytes_free(dir).
std::string disk_full_text(const std::filesystem::path& dir, std::uint64_t free);

// The view's metadata from manageable.json's contents.
void read_view_meta(ManageableView& view, const nlohmann::json& meta);

// The view's launch and run records; a corrupt one is left missing (status names it).
void read_view_records(ManageableView& view, const ManageableDir& dir);

// The view's state and what its latest run says, from its records, `active` and `pending`.
void decide_view(ManageableView& view, bool active, bool pending);

// "active", or "restarting" while its wrapper waits for the next attempt: what a refusal calls a
// manageable whose wrapper runs (`dir` is active).
std::string running_word(const ManageableDir& dir);

// The resources of every running one of `views`, from one scan of /proc.
void measure(const std::vector<ManageableView*>& views);

// This process's environment as `load` records it: every "NAME=value" but spmi's own markers
// (SPMI_RUN_TOKEN, SPMI_WRAPPER_TOKEN, SPMI_ID, SPMI_ALIVE_FD), sorted.
std::vector<std::string> captured_environment();

// What `load` adds to manageable.json: the environment (stored once, StateStore::store_environment())
// and when it was captured, and with `with_cwd` the directory it runs in.
nlohmann::json load_context(const StateStore& store, bool with_cwd);

} // namespace spmi::detail
