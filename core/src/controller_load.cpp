// SPDX-License-Identifier: MIT
// Controller::load and what it shares with load --replace, reload and `spmi run`: descriptor files read
// (each may make several manageables), every manageable validated by building it, IDs unique across
// the files, all or nothing.
#include <spmi/controller.hpp>
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>

#include "controller_detail.hpp"

#include <fmt/format.h>

#include <map>

namespace spmi {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace detail;

namespace {

// How many problems of one file are shown: a matrix template with one mistake makes the same problem
// once per combination.
constexpr std::size_t k_problems_per_file = 5;

} // namespace

bool
Controller::validate(const Descriptor& descriptor, const fs::path& path, bool strict, std::vector<std::string>& problems)
{
  // Building the manageable validates the rest: its keys, backend and wrapper types.
  std::vector<std::string> unknown_keys;
  PluginContext context{Section(descriptor.body, path.string(), descriptor.table()), m_logger, &m_registry, true,
                        strict ? &unknown_keys : nullptr};
  try {
    m_registry.create_manageable(descriptor.type, context);
  } catch (const DescriptorError& e) {
    problems.insert(problems.end(), unknown_keys.begin(), unknown_keys.end());
    problems.push_back(e.what());
    return false;
  }
  problems.insert(problems.end(), unknown_keys.begin(), unknown_keys.end());
  return unknown_keys.empty();
}

std::vector<std::string>
Controller::load(const std::vector<fs::path>& paths)
{
  return register_validated(validated(paths));
}

std::vector<std::string>
Controller::load_descriptors(const std::vector<Descriptor>& descriptors, const json& recorded)
{
  std::vector<std::string> problems;
  for (const auto& descriptor : descriptors) {
    // No file: messages name the command line ("(command line): task.wrapper.restart: ...").
    if (!validate(descriptor, descriptor.source.empty() ? fs::path("(command line)") : descriptor.source, strict(),
                  problems)) {
      std::string message;
      for (const auto& problem : problems) {
        message += problem + "\n";
      }
      throw DescriptorError(message + "nothing was loaded");
    }
  }
  return register_validated(descriptors, recorded);
}

std::vector<std::string>
Controller::register_validated(const std::vector<Descriptor>& descriptors, const json& extra)
{
  const auto store_lock = m_store.lock_store();  // the environment stays until they name it
  auto recorded = load_context(m_store, true);
  for (const auto& [key, value] : extra.items()) {
    recorded[key] = value;
  }
  m_store.register_all(descriptors, recorded);
  std::vector<std::string> ids;
  for (const auto& descriptor : descriptors) {
    ids.push_back(descriptor.id);
  }
  return ids;
}

std::vector<Descriptor>
Controller::plan_load(const std::vector<fs::path>& paths)
{
  return validated(paths);
}

// Long because: one pass over the files that keeps, for the one message of an all-or-nothing refusal,
// each file's problems (bounded), the count of bad files and the first place of each ID.
std::vector<Descriptor>
Controller::validated(const std::vector<fs::path>& paths, const char* verb)
{
  const bool strict_keys = strict();
  std::vector<Descriptor> descriptors;
  std::vector<std::string> problems;
  std::size_t invalid = 0;
  std::map<std::string, std::pair<fs::path, std::string>> seen;  // ID -> file, table
  for (const auto& path : paths) {
    std::vector<std::string> own;
    std::size_t bad = 0;
    try {
      auto read = read_descriptors(path);
      for (auto& descriptor : read) {
        if (auto it = seen.find(descriptor.id); it != seen.end()) {
          // "the ID in good.toml" for a file of one, "the ID of task[0] in x1.toml" for an entry of several
          const auto& [other_file, other_table] = it->second;
          throw DescriptorError(fmt::format("{}: {}.id: '{}' is also the ID {}in {}; IDs must be unique", path.string(),
                                            descriptor.table(), descriptor.id,
                                            other_table.find_first_of("[.") == std::string::npos ? ""
                                                                                                : "of " + other_table + " ",
                                            other_file.string()));
        }
        seen.emplace(descriptor.id, std::pair{path, descriptor.table()});
        if (validate(descriptor, path, strict_keys, own)) {
          descriptors.push_back(std::move(descriptor));
        } else {
          ++bad;
        }
      }
    } catch (const DescriptorError& e) {
      own.push_back(e.what());
      ++bad;
    }
    invalid += bad > 0 ? 1 : 0;
    const auto shown = std::min(own.size(), k_problems_per_file);
    problems.insert(problems.end(), own.begin(), own.begin() + static_cast<std::ptrdiff_t>(shown));
    if (own.size() > shown) {
      problems.push_back(fmt::format("{}: {} more problems like these", path.string(), own.size() - shown));
    }
  }
  if (invalid > 0) {
    std::string message;
    for (const auto& problem : problems) {
      message += problem + "\n";
    }
    message += fmt::format("nothing was {}: {} of {} descriptor{} invalid", verb, invalid, paths.size(),
                           paths.size() == 1 ? " is" : "s are");
    throw DescriptorError(message);
  }
  return descriptors;
}

} // namespace spmi
