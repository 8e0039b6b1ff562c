// SPDX-License-Identifier: MIT
// Descriptor files of several manageables: an array of tables (`[[task]]`), a top-level sequence (YAML,
// JSON), and `matrix` tables expanded into one manageable per combination; each entry checked as a
// single descriptor is, IDs unique within the file.
#include <spmi/descriptor.hpp>

#include "descriptor_detail.hpp"
#include "matrix.hpp"

#include <spmi/errors.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace spmi {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// One table of the file before expansion: its type, body and place ("task[2]").
struct Entry
{
  std::string type;
  const json* body;
  std::string table;
};

std::vector<Entry>
entries_of(const json& document, const fs::path& source)
{
  const auto where = source.string();
  std::vector<Entry> entries;
  // A list of manageables when it holds a table; an array of other things is refused as one table would be.
  const auto has_table = [](const json& list) {
    return list.empty() || std::any_of(list.begin(), list.end(), [](const json& item) { return item.is_object(); });
  };
  if (document.is_object() && document.size() == 1 && document.begin().value().is_array() &&
      has_table(document.begin().value())) {
    const auto& type = document.begin().key();
    const auto& list = document.begin().value();
    for (std::size_t i = 0; i < list.size(); ++i) {
      entries.push_back(Entry{type, &list[i], fmt::format("{}[{}]", type, i)});
    }
  } else if (document.is_array()) {
    for (std::size_t i = 0; i < document.size(); ++i) {
      const auto& item = document[i];
      if (!item.is_object() || item.size() != 1) {
        throw DescriptorError(fmt::format("{}: [{}]: expected a table with one key naming the manageable type, e.g. "
                                          "{{\"task\": {{...}}}}, got {}",
                                          where, i, item.is_object() ? fmt::format("{} keys", item.size())
                                                                     : detail::type_name_of(item)));
      }
      entries.push_back(Entry{item.begin().key(), &item.begin().value(), fmt::format("[{}].{}", i, item.begin().key())});
    }
  } else {
    return {Entry{}};  // one table: make_descriptor() checks it and says what is wrong
  }
  if (entries.empty()) {
    throw DescriptorError(fmt::format("{}: the list of manageables is empty; give at least one", where));
  }
  return entries;
}

// The manageables one table makes: itself, or one per combination of its matrix.
void
expand(const Entry& entry, const fs::path& source, std::vector<Descriptor>& out)
{
  const auto where = source.string();
  const auto with_text = [&](Descriptor descriptor) {
    descriptor.format = "json";  // the entry alone, as loaded: the file's text is all of them
    descriptor.text = json{{descriptor.type, descriptor.body}}.dump(2) + "\n";
    out.push_back(std::move(descriptor));
  };
  if (!entry.body->is_object() || !entry.body->contains("matrix")) {
    with_text(detail::table_descriptor(entry.type, *entry.body, source, entry.table));
    return;
  }
  const std::size_t room = k_max_manageables_per_file - std::min(out.size(), k_max_manageables_per_file);
  const Section section(entry.body->at("matrix"), where, entry.table + ".matrix");
  for (const auto& combination : matrix::combinations(section, room)) {
    const auto table = fmt::format("{}[{}]", entry.table, matrix::describe(combination));
    auto descriptor = detail::table_descriptor(entry.type, matrix::instantiate(*entry.body, combination), source, table);
    descriptor.matrix = json::object();
    for (const auto& [name, value] : combination) {
      descriptor.matrix[name] = value;
    }
    with_text(std::move(descriptor));
  }
}

} // namespace

std::vector<Descriptor>
make_descriptors(const json& document, const fs::path& source, const std::string& format, const std::string& text)
{
  const auto where = source.string();
  auto entries = entries_of(document, source);
  if (entries.size() == 1 && entries[0].body == nullptr) {
    if (!document.is_object() || document.size() != 1 || !document.begin().value().is_object() ||
        !document.begin().value().contains("matrix")) {
      auto descriptor = make_descriptor(document, source);
      descriptor.format = format;
      descriptor.text = text;
      return {std::move(descriptor)};
    }
    entries[0] = Entry{document.begin().key(), &document.begin().value(), document.begin().key()};
  }
  std::vector<Descriptor> descriptors;
  for (const auto& entry : entries) {
    if (descriptors.size() >= k_max_manageables_per_file) {
      throw DescriptorError(fmt::format("{}: {}: more than {} manageables in one file; split it into several files",
                                        where, entry.table, k_max_manageables_per_file));
    }
    expand(entry, source, descriptors);
  }
  std::map<std::string, const Descriptor*> seen;
  for (const auto& descriptor : descriptors) {
    const auto [it, fresh] = seen.emplace(descriptor.id, &descriptor);
    if (!fresh) {
      throw DescriptorError(fmt::format("{}: {}.id: '{}' is also the ID of {}; IDs must be unique{}", where,
                                        descriptor.table(), descriptor.id, it->second->table(),
                                        descriptor.matrix.is_null() ? ""
                                                                    : " (put every matrix name in the id, e.g. "
                                                                      "\"sim-lr{lr}-s{seed}\")"));
    }
  }
  return descriptors;
}

std::vector<Descriptor>
read_descriptors(const fs::path& path)
{
  std::string format;
  const auto text = detail::read_descriptor_text(path, format);
  return make_descriptors(parse_document(text, format, path.string()), path, format, text);
}

} // namespace spmi
