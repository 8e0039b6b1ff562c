// SPDX-License-Identifier: MIT
/// \file
/// "Did you mean ...?": the one rule spmi uses to suggest a known word for a misspelt one (descriptor
/// keys, plugin types, commands, ID patterns).
#pragma once

#include <spmi/export.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spmi {

/// Edit distance counting an insertion, a deletion, a substitution or a swap of two adjacent
/// characters as one edit (Damerau-Levenshtein, optimal string alignment): "restrat" is 1 from "restart".
SPMI_API std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate `word` most likely misspells, or nullopt when none is close enough. Close enough:
/// at most 2 edits and at most a third of the word (at least 1), or `word` (3 or more characters) begins
/// a candidate at most twice as long ("stat" for "status"), which is then preferred. Ties go to the
/// earlier candidate; `word` itself among the candidates is never suggested.
SPMI_API std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

/// As closest_match(), over string views.
SPMI_API std::optional<std::string> closest_match(std::string_view word,
                                                  const std::vector<std::string_view>& candidates);

} // namespace spmi
