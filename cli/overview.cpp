// SPDX-License-Identifier: MIT
// `spmi status` without patterns and more than a screenful loaded: an overview, as `systemctl status`
// without a unit gives one (how many in each state), and how to see them.
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/views.hpp>

#include <fmt/format.h>

#include <iostream>
#include <map>

namespace spmi::cli {

std::optional<int>
status_overview(Controller& controller)
{
  if (controller.ids().size() <= k_status_all_max) {
    return std::nullopt;
  }
  // The states only: no /proc scan, as nothing of the resources is shown.
  const auto views = controller.list(false);
  int status = exit_status::k_ok;
  std::map<State, std::size_t> counts;
  for (const auto& view : views) {
    if (!view.problem.empty()) {
      logger()->error("manageable '{}': {}", view.id, view.problem);
      status = exit_status::k_failed;
    }
    ++counts[view.state];
  }
  // The states users act on first.
  const State order[] = {State::active, State::restarting, State::pending, State::failed, State::inactive,
                         State::unknown};
  std::string line = fmt::format("{} manageables loaded:", views.size());
  const char* separator = " ";
  for (const auto state : order) {
    if (counts[state] > 0) {
      line += fmt::format("{}{} {}", separator, counts[state], state_word(state));
      separator = ", ";
    }
  }
  std::cout << line << '\n' << std::flush;
  logger()->info("More than {} loaded: give patterns to see their status (`spmi status 'web-.*'`), "
                 "`spmi status '.*'` for all of them, `spmi list` for one line each",
                 k_status_all_max);
  return status;
}

} // namespace spmi::cli
