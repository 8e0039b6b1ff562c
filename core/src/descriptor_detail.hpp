// SPDX-License-Identifier: MIT
// What descriptor.cpp, document.cpp and section.cpp share, inside the core only.
#pragma once

#include <spmi/descriptor.hpp>
#include <spmi/export.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace spmi::detail {

// "a table", "a string", "an integer", ... for messages.
std::string type_name_of(const nlohmann::json& node);

// "a.b" for `key` under `path` ("b" at the top).
inline std::string
child_path(const std::string& path, const std::string& key)
{
  return path.empty() ? key : path + "." + key;
}

// Parses `text` as `format` ("toml", "yaml" or "json") into a tree, refusing NUL bytes, documents
// nested too deep or too large, and duplicate keys; `where` names the source in messages.
// parse_document() is this plus the check of every string. Throws DescriptorError.
nlohmann::json parse_text(std::string_view text, std::string_view format, const std::string& where);

// The text of the descriptor file `path` (bounded, a regular file), its `format` from the extension.
// Throws DescriptorError naming the file.
std::string read_descriptor_text(const std::filesystem::path& path, std::string& format);

// The manageable of type `type` whose table `body` is at `table` ("task", "task[2]") in `source`:
// type name, table, id and comment checked. Throws DescriptorError naming file and key.
Descriptor table_descriptor(const std::string& type, const nlohmann::json& body,
                            const std::filesystem::path& source, const std::string& table);

// "64KiB", "3GiB", "1000 bytes": a size exactly, in the largest binary unit that divides it.
SPMI_API std::string format_size(std::uint64_t bytes);

// The size a refused size text probably meant, in the accepted grammar: "10M" for "10m", "10MB" or
// "10 M"; "1536M" for "1.5G". nullopt when there is no such guess.
SPMI_API std::optional<std::string> size_meant(std::string_view text);

} // namespace spmi::detail
