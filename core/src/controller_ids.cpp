// SPDX-License-Identifier: MIT
// What the Controller says about the IDs and patterns a user gave: one ID where one is expected (a
// pattern there is named as such, with what it matches), the regular expression a glob meant, and which
// output file holds a task's stderr.
#include <spmi/controller.hpp>
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/suggest.hpp>
#include <spmi/text.hpp>

#include "pattern.hpp"

#include <fmt/format.h>

namespace spmi {

namespace {

// "'a', 'b' and 'c'", at most `most` of them, then how many more.
std::string
quoted_list(const std::vector<std::string>& ids, std::size_t most = 5)
{
  std::string text;
  for (std::size_t i = 0; i < ids.size() && i < most; ++i) {
    text += (i == 0 ? "" : (i + 1 == ids.size() ? " and " : ", ")) + ("'" + escape_control(ids[i]) + "'");
  }
  if (ids.size() > most) {
    text += fmt::format(" and {} more", ids.size() - most);
  }
  return text;
}

} // namespace

std::optional<std::string>
Controller::meant_pattern(const std::string& pattern) const
{
  const auto regex = glob_as_regex(pattern);
  if (!regex) {
    return std::nullopt;
  }
  std::vector<std::string> unmatched;
  return select({*regex}, unmatched).empty() ? std::nullopt : regex;
}

void
Controller::require_loaded(const std::string& id, std::string_view command) const
{
  if (m_store.contains(id)) {
    return;
  }
  const auto shown = escape_control(id);
  if (is_valid_id(id)) {
    const auto near = closest_match(id, m_store.ids());
    throw StateError(fmt::format("no manageable '{}' is loaded{} (see `spmi list`)", shown,
                                 near ? fmt::format("; did you mean '{}'?", escape_control(*near)) : std::string()));
  }
  // Not an ID: most likely a pattern, as the batch verbs take.
  std::vector<std::string> matches;
  try {
    std::vector<std::string> unmatched;
    matches = select({id}, unmatched);
  } catch (const UsageError&) {
    // Not a valid expression either: said below as for one that matches nothing.
  }
  if (matches.empty()) {
    throw StateError(fmt::format("no manageable '{}' is loaded (see `spmi list`); `spmi {}` takes one ID, not a pattern",
                                 shown, command));
  }
  throw StateError(fmt::format("'{}' is a pattern; `spmi {}` takes one ID: the pattern matches {}; run `spmi {} {}`{}",
                               shown, command, quoted_list(matches), command, escape_control(matches.front()),
                               matches.size() > 1 ? " (or another of them)" : ""));
}

bool
Controller::stderr_in_stdout(const std::string& id) const
{
  const auto run = existing(id).read_run();
  return run && run->mixed_stdout;
}

} // namespace spmi
