// SPDX-License-Identifier: MIT
// What `start` says when a wrapper did not report: the lines its launch left in wrapper.log.
#pragma once

#include <spmi/state.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace spmi {

// How many of the lines a failed launch wrote to wrapper.log `start` quotes (the last ones).
constexpr std::size_t k_quoted_log_lines = 5;

// The size of the wrapper.log of `dir` now (0 when there is none, or it can't be told): what a launch
// writes there is what comes after it.
std::uint64_t wrapper_log_size(const ManageableDir& dir);

// The last `most` lines of the wrapper.log of `dir` written after `offset` (all of them when the file is
// shorter now: it was replaced); none when there are none or it can't be read safely.
std::vector<std::string> wrapper_log_since(const ManageableDir& dir, std::uint64_t offset, std::size_t most);

// "manageable '<id>': <what>; <dir>/wrapper.log says:\n  <line>..." with the lines the launch wrote
// since `offset`, or, when it wrote none, "manageable '<id>': <what>, and nothing was logged about it"
// (naming no file, which may not exist).
std::string start_failure(const ManageableDir& dir, std::uint64_t offset, const std::string& what);

} // namespace spmi
