// SPDX-License-Identifier: MIT
// An unknown command word (`spmi stat web`): named, with the nearest command (spmi/suggest.hpp), instead
// of CLI11's "A subcommand is required".
#include "commands.hpp"

#include <spmi/log.hpp>
#include <spmi/suggest.hpp>
#include <spmi/text.hpp>

#include <CLI/CLI.hpp>

#include <fmt/format.h>

namespace spmi::cli {

bool
report_unknown_command(CLI::App& app, int argc, char** argv)
{
  // spmi's own options before the command are flags without values, so the first word that is not an
  // option is the command.
  std::string word;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') {
      word = argv[i];
      break;
    }
  }
  if (word.empty()) {
    return false;
  }
  std::vector<std::string> commands;
  for (const auto* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (command->get_name() == word) {
      return false;  // a known command with a bad option or argument: CLI11 says which
    }
    if (!command->get_group().empty()) {  // the hidden internal one is never suggested
      commands.push_back(command->get_name());
    }
  }
  const auto near = closest_match(word, commands);
  logger()->error("unknown command '{}'{} (`spmi --help` lists the commands)", escape_control(word),
                  near ? fmt::format("; did you mean '{}'?", *near) : std::string());
  return true;
}

} // namespace spmi::cli
